"""`evoforge ui`: start the Streamlit app on a store, on loopback unless told otherwise.

The command checks the store first, so a bad URL fails here in one line rather than
in a browser tab, then replaces itself with `streamlit run` so Ctrl-C and signals
reach the server directly. The app has no login: binding anything but loopback is
the user's explicit choice and is warned about.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evoforge.cli.errors import err_console, fail

console = Console()

LOOPBACK = "127.0.0.1"


def app_path() -> Path:
    """The script `streamlit run` is given, found without importing it: `serve.py`,
    which puts the app (`app.py`) behind the gate that checks every request's Host
    and adds the Content-Security-Policy to every response (`evoforge.ui.guard`)."""
    import evoforge.ui

    return Path(evoforge.ui.__file__).resolve().parent / "serve.py"


def streamlit_command(host: str, port: int) -> list[str]:
    """The server's command line: headless (no browser is opened), no usage statistics
    sent, no file watching (the app is installed code, not a script being edited)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def served_names(host: str, port: int, allowed: list[str]) -> str:
    """The names the server answers to besides the address a request reaches (see
    `evoforge.ui.guard.HOSTS_ENV`): `--host` on its port, and each `--allow-host`."""
    where = f"[{host}]" if ":" in host else host
    return ",".join([f"{where}:{port}", *allowed])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ui(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="EVOFORGE_DB",
            help="SQLAlchemy URL of the store (default: sqlite in ./.evoforge/)",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="address to listen on; the UI has no login")
    ] = LOOPBACK,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8501,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="another name the UI may be reached under (NAME, any port, e.g. a "
            "reverse proxy's; or NAME:PORT); requests naming any other host are refused",
        ),
    ] = None,
) -> None:
    """Browse runs, lineage and candidates in the web UI (read-only)."""
    from evoforge.store import NoDatabase, StoreError, open_read_only
    from evoforge.store.database import default_database_path
    from evoforge.ui.guard import HOSTS_ENV, parse_host

    allowed = [name.strip() for name in allow_host or [] if name.strip()]
    for name in allowed:
        if "," in name or parse_host(name) is None:
            fail(f"--allow-host {name!r} is not a host name: pass NAME or NAME:PORT")

    # Spell the default out: the server may run with another working directory.
    url = db or f"sqlite:///{default_database_path()}"
    try:
        open_read_only(url).close()
        state = ""
    except NoDatabase:
        state = " (no runs there yet: the page shows how to start one)"
    except StoreError as exc:
        fail(str(exc))
    if not is_loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] listening on {host}: the UI has no login, so anyone "
            "who can reach this address can read every run in the store",
            highlight=False,
        )
    from sqlalchemy import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    where = f"[{host}]" if ":" in host else host
    console.print(
        f"evoforge UI on http://{where}:{port}  store: {shown}{state}  (Ctrl-C stops it)",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    # The URL goes through the environment, not argv, so its password stays out of `ps`.
    env = {**os.environ, "EVOFORGE_UI_DB": url, HOSTS_ENV: served_names(host, port, allowed)}
    command = streamlit_command(host, port)
    os.execve(command[0], command, env)
