"""`evoforge ui`: one-line errors before any server starts, loopback by default, and a
warning when a user opens it to the network."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from cli_helpers import EVOFORGE, run_cli
from support.old_store import make_old_store
from support.ui_server import UiServer, free_port

from evoforge.cli.ui import is_loopback, streamlit_command


def test_a_bad_url_fails_in_one_line_before_a_server_starts() -> None:
    result = run_cli("ui", "--db", "not a url", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --db 'not a url' is not a database URL; pass a SQLAlchemy URL with --db, "
        "e.g. sqlite:///runs/evoforge.db"
    ]


def test_an_older_store_is_refused_with_the_command_that_upgrades_it(tmp_path: Path) -> None:
    url = make_old_store(tmp_path / "old.db")
    result = run_cli("ui", "--db", url, timeout=60)
    assert result.returncode == 2
    assert "run `evoforge runs --db" in result.stderr


def test_the_server_listens_on_loopback_only_and_sends_no_statistics() -> None:
    command = streamlit_command("127.0.0.1", 8600)
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.address"] == "127.0.0.1"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--server.headless"] == "true"
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0")] == [
        True, True, True, False,
    ]  # fmt: skip


def test_a_missing_store_starts_the_ui_with_its_first_run_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nothing-yet.db'}"
    with UiServer(url, tmp_path / "server.log") as server:
        with urllib.request.urlopen(server.url("/"), timeout=10) as page:
            assert page.status == 200
        assert "no runs there yet" in (tmp_path / "server.log").read_text()
    assert not (tmp_path / "nothing-yet.db").exists()


@pytest.mark.slow
def test_listening_beyond_loopback_is_warned_about(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 's.db'}"
    process = subprocess.Popen(
        [*EVOFORGE, "ui", "--db", url, "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert "the UI has no login" in err
