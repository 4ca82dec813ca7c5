"""A private PostgreSQL server for the tests, started from the distribution's binaries.

The store must work on PostgreSQL as well as SQLite, and the only honest check is a
real server: this one lives in a fresh folder under /tmp, listens on 127.0.0.1 on a
free port (its unix socket stays inside the folder, so it never meets a system
server), trusts every local connection, and trades durability for speed (no fsync,
no synchronous commit, no full-page writes): a crash loses nothing a test needs.

initdb and postgres refuse to run as root, so as root they run as the Debian
`postgres` user through `runuser`, owning the folder. pytest's own temp folders
under /tmp/pytest-of-root are private to root, which is why the folder is made here
with `tempfile.mkdtemp` instead.

Each test gets its own database from `create_database()`; `drop_database()` removes
it again so a long session does not fill the disk with copies of template1.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import LiteralString

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
START_ATTEMPTS = 3
"""Tries with a new port: another process may take the free port before the server binds."""
SUPERUSER = "evoforge"
RUN_AS = "postgres"
SPEED_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Concurrency tests open several processes, each with its own connection pool.
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed or would not start; the message says which and why."""


def find_bindir() -> Path:
    """The folder holding initdb and postgres: pg_config's answer, else the newest
    Debian install under /usr/lib/postgresql, else whatever is on PATH."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        answer = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True
        )
        candidates.append(Path(answer.stdout.strip()))

    def version(folder: str) -> int:
        name = Path(folder).parent.name
        return int(name) if name.isdigit() else -1

    candidates += [
        Path(f) for f in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)[::-1]
    ]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, postgres) are not installed "
        "(apt-get install postgresql)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One postgres process with its data, socket and log in a folder of its own.

    `bindir` overrides where the binaries are looked for (None: `find_bindir()`).
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir
        self.folder: Path | None = None
        self.port = 0
        self.user = SUPERUSER
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> PostgresServer:
        bindir = self.bindir or find_bindir()
        for binary in ("initdb", "postgres"):
            if not (bindir / binary).is_file():
                raise PostgresUnavailable(f"no {binary} in {bindir} (apt-get install postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="evoforge-pg-", dir="/tmp"))
        try:
            self._give_folder_away(self.folder)
            self._initdb(bindir)
            self._start_postgres(bindir)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Fast shutdown (open connections are cut, nothing waits), then remove the folder."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            self._signal_postmaster(process, signal.SIGINT)  # "fast" shutdown
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal_postmaster(process, signal.SIGQUIT)  # "immediate"
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- databases ---------------------------------------------------------------

    def url(self, name: str) -> str:
        """A SQLAlchemy URL for database `name` on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"test_{secrets.token_hex(6)}"
        self._admin("CREATE DATABASE {}", name)
        return self.url(name)

    def drop_database(self, url_or_name: str) -> None:
        """Drop a database made by `create_database`, cutting connections still open."""
        name = url_or_name.rsplit("/", 1)[-1]
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def log_tail(self, chars: int = 3000) -> str:
        log = self._log_path()
        if log is None or not log.exists():
            return "(no log)"
        return log.read_text(errors="replace")[-chars:]

    # -- internals ---------------------------------------------------------------

    def _log_path(self) -> Path | None:
        return self.folder / "postgres.log" if self.folder is not None else None

    def _as_owner(self, command: list[str]) -> list[str]:
        """The command as the user owning the folder (`postgres` when we are root)."""
        return ["runuser", "-u", RUN_AS, "--", *command] if os.geteuid() == 0 else command

    def _give_folder_away(self, folder: Path) -> None:
        folder.chmod(0o700)
        if os.geteuid() != 0:
            return
        if shutil.which("runuser") is None:
            raise PostgresUnavailable(
                "running as root needs runuser (util-linux) to drop to postgres"
            )
        try:
            owner = pwd.getpwnam(RUN_AS)
        except KeyError:
            raise PostgresUnavailable(
                f"initdb refuses root and there is no {RUN_AS!r} user to run it as "
                "(the postgresql package creates one)"
            ) from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)

    def _initdb(self, bindir: Path) -> None:
        assert self.folder is not None
        command = [
            str(bindir / "initdb"),
            f"--pgdata={self.folder / 'data'}",
            f"--username={self.user}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        try:
            done = subprocess.run(
                self._as_owner(command),
                cwd=self.folder,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise PostgresUnavailable(f"initdb could not run: {error}") from error
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-3000:]
            raise PostgresUnavailable(f"initdb failed (exit {done.returncode}):\n{output}")

    def _start_postgres(self, bindir: Path) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start_on_a_free_port(bindir)
                return
            except _PortTaken:
                if attempt == START_ATTEMPTS:
                    raise PostgresUnavailable(
                        f"postgres found no free port in {START_ATTEMPTS} tries; "
                        f"its log ends:\n{self.log_tail()}"
                    ) from None

    def _start_on_a_free_port(self, bindir: Path) -> None:
        assert self.folder is not None
        self.port = free_port()
        settings = {
            **SPEED_SETTINGS,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.folder),
        }
        command = [str(bindir / "postgres"), "-D", str(self.folder / "data")]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        log_path = self._log_path()
        assert log_path is not None
        with open(log_path, "ab") as log:
            earlier_output = log.tell()
            # Its own session: a Ctrl-C in the terminal must not reach the server
            # before the fixture has shut it down in order.
            self.process = subprocess.Popen(
                self._as_owner(command),
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready(log_path, earlier_output)

    def _wait_until_ready(self, log_path: Path, earlier_output: int) -> None:
        import psycopg

        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                with open(log_path, "rb") as log:
                    log.seek(earlier_output)
                    this_try = log.read().decode(errors="replace")
                if "Address already in use" in this_try:
                    raise _PortTaken
                raise PostgresUnavailable(
                    f"postgres exited while starting; its log ends:\n{this_try[-3000:]}"
                )
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(self._conninfo("postgres"), connect_timeout=2).close()
                return
            time.sleep(0.1)
        raise PostgresUnavailable(
            f"postgres was not ready after {START_TIMEOUT_S:.0f}s; its log ends:\n{self.log_tail()}"
        )

    def _conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def _admin(self, statement: LiteralString, database: str) -> None:
        """Run a statement about `database` (quoted into the `{}`) outside a transaction,
        as CREATE and DROP DATABASE must be."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(database)))

    def _signal_postmaster(self, process: subprocess.Popen[bytes], signum: int) -> None:
        """Signal the postmaster itself: under runuser, `process` is runuser, which
        would turn any signal into a plain SIGTERM followed by SIGKILL."""
        pid = process.pid
        if self.folder is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


class _PortTaken(Exception):
    """The port was free when picked but taken before postgres bound it."""
