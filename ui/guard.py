"""The UI server's gate: which requests it answers, and what every answer carries.

The pages show text that candidates wrote. `formatting.literal` and plain-text
elements keep that text from being read as Markdown; this module is the second line,
for anything that slips past the first:

- Every response carries a Content-Security-Policy under which a page loads nothing
  from anywhere but the UI itself: an `<img>` or a Markdown image pointing elsewhere
  is refused by the browser, so a page cannot be made to send what it shows (a key a
  candidate printed) to another address merely by being opened.
- A request whose Host header does not name the address being served is refused,
  the websocket upgrade included. The UI has no login; without this check a page on
  another site could rebind its own name to 127.0.0.1 (DNS rebinding) and read every
  run through the user's browser, as same-origin.

It is plain ASGI middleware handed to `st.App` (see `serve.py`), so it sits in front
of every route Streamlit serves: pages, static assets, media, `/_stcore/*` and the
websocket at `/_stcore/stream`.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HOSTS_ENV = "EVOFORGE_UI_HOSTS"
"""Names, besides the address a request arrived at, that the UI answers to
(comma-separated; `evoforge ui` puts its `--host` and every `--allow-host` here).
A name alone is served on any port (a reverse proxy's public name); `name:port`
on that port only."""

REFUSED = (
    b"evoforge ui: refused: the Host header does not name the address this UI serves "
    b"(start it with --allow-host NAME to serve it under another name)\n"
)

_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def inline_script_hashes(index_html: str) -> list[str]:
    """CSP sources for the inline scripts of Streamlit's `index.html` (today one line,
    `window.prerenderReady = false`), so the policy allows exactly those and no other
    inline script: computed from the installed file, they follow Streamlit's upgrades."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(index_html)
    ]


def _streamlit_index() -> str:
    import streamlit  # here, so `evoforge ui` checks its options without loading it

    index = Path(streamlit.__file__).resolve().parent / "static" / "index.html"
    return index.read_text(encoding="utf-8") if index.is_file() else ""


def content_security_policy(host: str, script_hashes: Iterable[str]) -> str:
    """The policy for a page served as `host` (a checked `name:port`).

    Everything comes from the UI itself: scripts from its own files plus the inline
    ones of `index.html` by hash (no `unsafe-inline`, no `unsafe-eval`: Streamlit
    draws Vega-Lite charts through Vega's CSP-safe interpreter); images, fonts and
    media also from `data:`/`blob:` URLs, which Streamlit makes itself; the websocket
    to this host only. Styles allow inline, as Streamlit's CSS-in-JS injects
    `<style>` elements; with images and fonts pinned to the UI, a style cannot load
    anything from elsewhere either. The page may not be framed, and forms, plugins
    and `<base>` cannot point away.
    """
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", "'wasm-unsafe-eval'", *script_hashes]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "media-src": "'self' data: blob:",
        "connect-src": f"'self' ws://{host} wss://{host}",
        "worker-src": "'self' blob:",
        "frame-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def parse_host(value: str | None) -> tuple[str, int | None] | None:
    """A Host header as (lower-case name without brackets or a trailing dot, port or
    None); None for anything that is not a bare `name[:port]`."""
    if not value:
        return None
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    name = parts.hostname
    if not name or parts.username is not None or parts.password is not None:
        return None
    if parts.path or parts.query or parts.fragment or "%" in name:
        return None
    return name.rstrip("."), port


def _plain_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, with an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`, what a
    dual-stack socket reports) read as the IPv4 address it is."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def configured_names(text: str | None) -> tuple[frozenset[str], frozenset[tuple[str, int]]]:
    """`HOSTS_ENV` read: names served on any port, and (name, port) pairs."""
    anywhere: set[str] = set()
    pinned: set[tuple[str, int]] = set()
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        parsed = parse_host(entry)
        if parsed is None:
            continue
        name, port = parsed
        if _is_wildcard(name):
            continue  # 0.0.0.0 names no site; the address a request reached counts
        if port is None:
            anywhere.add(name)
        else:
            pinned.add((name, port))
    return frozenset(anywhere), frozenset(pinned)


def _is_wildcard(name: str) -> bool:
    address = _plain_ip(name)
    return address is not None and address.is_unspecified


def host_allowed(
    header: str | None,
    server: tuple[str, int] | None,
    scheme: str,
    anywhere: frozenset[str] = frozenset(),
    pinned: frozenset[tuple[str, int]] = frozenset(),
) -> str | None:
    """The checked `name:port` a request named, or None to refuse it.

    Served: the address the connection arrived at (the server's end of the socket,
    `server` in the ASGI scope), on the port it arrived at; on loopback also
    `localhost` (what a user types); and the configured names. Any other name is a
    page elsewhere reaching this server under a name of its own.
    """
    parsed = parse_host(header)
    if parsed is None or server is None:
        return None
    name, port = parsed
    local, local_port = server[0], int(server[1])
    if port is None:
        port = 443 if scheme in ("https", "wss") else 80
    shown = f"[{name}]" if ":" in name else name
    checked = f"{shown}:{port}"
    if name in anywhere or (name, port) in pinned:
        return checked
    if port != local_port:
        return None
    arrived = _plain_ip(local)
    if arrived is None:
        return None
    if name == "localhost" and arrived.is_loopback:
        return checked
    return checked if _plain_ip(name) == arrived else None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


class HostAndPolicy:
    """ASGI middleware: refuse a foreign Host, add the policy to every response."""

    def __init__(self, app: ASGIApp, hosts: str | None = None) -> None:
        self.app = app
        self.anywhere, self.pinned = configured_names(
            os.environ.get(HOSTS_ENV) if hosts is None else hosts
        )
        self.script_hashes = inline_script_hashes(_streamlit_index())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        host = host_allowed(
            _header(scope, b"host"),
            scope.get("server"),
            scope.get("scheme", "http"),
            self.anywhere,
            self.pinned,
        )
        if host is None:
            await self._refuse(scope, send)
            return
        added = self._headers(host)
        replaced = {name for name, _ in added}

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (key, value)
                    for key, value in message.get("headers") or ()
                    if key.lower() not in replaced
                ]
                message["headers"] = [*kept, *added]
            await send(message)

        await self.app(scope, receive, send_with_policy)

    def _headers(self, host: str) -> list[tuple[bytes, bytes]]:
        return [
            (
                b"content-security-policy",
                content_security_policy(host, self.script_hashes).encode("latin-1"),
            ),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """403 with one line. A websocket is answered before its handshake, with the
        same response where the server can send one, else by closing (uvicorn then
        answers 403 itself)."""
        start = {
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(REFUSED)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
        if scope["type"] == "http":
            await send({"type": "http.response.start", **start})
            await send({"type": "http.response.body", "body": REFUSED})
        elif "websocket.http.response" in (scope.get("extensions") or {}):
            await send({"type": "websocket.http.response.start", **start})
            await send({"type": "websocket.http.response.body", "body": REFUSED})
        else:
            await send({"type": "websocket.close", "code": 1008})
