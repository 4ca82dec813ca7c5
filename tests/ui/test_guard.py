"""The UI server's gate: a request naming a foreign Host is refused (the page, a
static asset, the health check and the websocket upgrade), the served address is
answered, and every answer carries the Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import run_cli
from support.ui_server import UiServer

from evoforge.cli.ui import served_names
from evoforge.ui.guard import (
    REFUSED,
    configured_names,
    content_security_policy,
    host_allowed,
    inline_script_hashes,
)

LOOPBACK = ("127.0.0.1", 8501)


def allowed(header: str | None, server: tuple[str, int] = LOOPBACK, hosts: str = "") -> bool:
    anywhere, pinned = configured_names(hosts)
    return host_allowed(header, server, "http", anywhere, pinned) is not None


def test_the_address_a_request_reached_and_localhost_are_served_on_their_port() -> None:
    assert allowed("127.0.0.1:8501")
    assert allowed("localhost:8501")
    assert allowed("LocalHost.:8501")
    assert allowed("[::1]:8501", server=("::1", 8501))
    assert allowed("127.0.0.1:8501", server=("::ffff:127.0.0.1", 8501))  # dual-stack socket
    assert allowed("10.1.2.3:8501", server=("10.1.2.3", 8501))


def test_a_foreign_name_or_port_is_refused() -> None:
    for header in (
        "evil.example:8501",  # DNS rebinding: the attacker's name, our address
        "evil.example",
        "127.0.0.1:8502",
        "127.0.0.1",  # port 80
        "[::1]:8501",  # the connection reached 127.0.0.1, not ::1
        "localhost.evil.example:8501",
        "user@127.0.0.1:8501",
        "127.0.0.1:8501/x",
        "127.0.0.1:99999",
        "",
        None,
    ):
        assert not allowed(header), header
    # localhost is served only where the connection arrived on loopback.
    assert not allowed("localhost:8501", server=("10.1.2.3", 8501))


def test_configured_names_are_served_and_a_wildcard_address_names_nothing() -> None:
    hosts = served_names("0.0.0.0", 8501, ["ui.example.org", "box.lan:9000"])
    assert allowed("ui.example.org", hosts=hosts)  # a proxy's name, on its own port
    assert allowed("ui.example.org:443", hosts=hosts)
    assert allowed("box.lan:9000", hosts=hosts)
    assert not allowed("box.lan:8501", hosts=hosts)
    assert not allowed("0.0.0.0:8501", hosts=hosts)
    assert allowed("gpu-box:8501", hosts=served_names("gpu-box", 8501, []))
    assert not allowed("gpu-box:8502", hosts=served_names("gpu-box", 8501, []))
    assert allowed("[::1]:8501", server=("::1", 8501), hosts=served_names("::1", 8501, []))


def test_the_policy_allows_only_the_ui_itself_and_streamlits_own_inline_script() -> None:
    inline = "\n  window.prerenderReady = false\n"
    index = f'<script>{inline}</script><script type="module" src="./x.js"></script>'
    hashes = inline_script_hashes(index)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert hashes == [f"'sha256-{digest}'"]
    policy = dict(
        directive.split(" ", 1)
        for directive in content_security_policy("127.0.0.1:8501", hashes).split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["connect-src"] == "'self' ws://127.0.0.1:8501 wss://127.0.0.1:8501"
    assert "unsafe-inline" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"


def test_a_bad_allow_host_fails_in_one_line() -> None:
    result = run_cli("ui", "--allow-host", "a/b", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --allow-host 'a/b' is not a host name: pass NAME or NAME:PORT"
    ]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    root = tmp_path_factory.mktemp("guard")
    with UiServer(f"sqlite:///{root / 'none.db'}", root / "server.log") as server:
        yield server


def request(ui: UiServer, path: str, host: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", ui.port, timeout=20)
    connection.request("GET", path, headers={"Host": host})
    answer = connection.getresponse()
    answer.body = answer.read()  # type: ignore[attr-defined]
    connection.close()
    return answer


def upgrade(ui: UiServer, host: str) -> bytes:
    """The server's answer to a websocket handshake on Streamlit's stream, up to the
    end of its headers (and the body of a refusal)."""
    with socket.create_connection(("127.0.0.1", ui.port), timeout=20) as sock:
        sock.sendall(
            (
                "GET /_stcore/stream HTTP/1.1\r\n"
                f"Host: {host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n"
                f"Origin: http://{host}\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or answer.startswith(b"HTTP/1.1 403"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
            if answer.endswith(REFUSED):
                break
        return answer


def a_static_asset() -> str:
    """A script the page loads, by its name in the installed Streamlit's index.html."""
    import streamlit

    index = Path(streamlit.__file__).parent / "static" / "index.html"
    found = re.search(r'src="\./(static/js/[^"]+\.js)"', index.read_text())
    assert found, "no script in Streamlit's index.html"
    return "/" + found.group(1)


@pytest.mark.slow
def test_a_foreign_host_is_refused_everywhere_and_the_served_one_answered(ui: UiServer) -> None:
    served = f"127.0.0.1:{ui.port}"
    foreign = f"evil.example:{ui.port}"
    for path in ("/", "/candidate?run=latest", a_static_asset(), "/_stcore/health"):
        refused = request(ui, path, foreign)
        assert refused.status == 403, path
        assert refused.body == REFUSED  # type: ignore[attr-defined]
        assert refused.body.count(b"\n") == 1  # type: ignore[attr-defined]
        for host in (served, f"localhost:{ui.port}"):
            assert request(ui, path, host).status == 200, (path, host)
    assert upgrade(ui, foreign).startswith(b"HTTP/1.1 403")
    assert REFUSED in upgrade(ui, foreign)
    assert upgrade(ui, served).startswith(b"HTTP/1.1 101")


@pytest.mark.slow
def test_every_answer_carries_the_policy(ui: UiServer) -> None:
    served = f"127.0.0.1:{ui.port}"
    for path in ("/", "/run?run=latest", a_static_asset(), "/_stcore/health", "/favicon.png"):
        answer = request(ui, path, served)
        policy = answer.getheader("Content-Security-Policy") or ""
        assert policy.startswith("default-src 'self'; "), path
        assert f"connect-src 'self' ws://{served} wss://{served};" in policy
        assert len(answer.headers.get_all("Content-Security-Policy") or []) == 1
        assert answer.getheader("X-Content-Type-Options") == "nosniff"
        assert answer.getheader("Referrer-Policy") == "no-referrer"
