"""`evoforge ui` started for real, as a user starts it, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class UiServer:
    """The UI's server process: `with UiServer(db_url) as ui: ui.url("/run?run=…")`."""

    def __init__(self, db_url: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.log_path = log
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout_s: float = 90.0) -> UiServer:
        command = [
            sys.executable, "-m", "evoforge.cli.app", "ui",
            "--db", self.db_url, "--port", str(self.port),
        ]  # fmt: skip
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"evoforge ui exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url("/_stcore/health"), timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"evoforge ui did not answer in {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def __enter__(self) -> UiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
