"""Real `evoforge worker` processes for the distributed tests (never Celery's eager mode).

Each worker runs in its own session so a test can kill it the way a machine dies:
SIGKILL to the worker, its pool processes and the sandboxes they started, at once.
What a worker did is read from its own log, which Celery writes per message.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

RECEIVED = re.compile(r"Task evoforge\.evaluate\[([0-9a-f]+)-[0-9a-f]+\] received")
SUCCEEDED = re.compile(r"Task evoforge\.evaluate\[([0-9a-f]+)-[0-9a-f]+\] succeeded")


class Worker:
    def __init__(
        self,
        name: str,
        *,
        broker: str,
        db: str,
        log: Path,
        queues: str = "cpu",
        concurrency: int = 1,
        visibility_timeout: float = 8.0,
        gpus: str = "",
    ) -> None:
        self.name = name
        self.log = log
        self.command = [
            sys.executable, "-m", "evoforge.cli.app", "worker",
            "--queues", queues,
            "--concurrency", str(concurrency),
            "--gpus", gpus,
            "--broker", broker,
            "--db", db,
            "--name", name,
            "--visibility-timeout", str(visibility_timeout),
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> Worker:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while f"{self.name} ready." not in self.text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.name} not ready: {self.text()[-2000:]}")
            time.sleep(0.1)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def received(self) -> list[str]:
        """Candidate ids of every message this worker was handed, re-deliveries included."""
        return RECEIVED.findall(self.text())

    def succeeded(self) -> list[str]:
        return SUCCEEDED.findall(self.text())

    def evaluating(self) -> bool:
        """True while this worker runs an evaluation: a cold harness, or a child its
        warm sandbox server forked (an idle server alone is no evaluation)."""
        if self.proc is None:
            return False
        for pid in _descendants(self.proc.pid):
            command = _command(pid)
            if b"harness" not in command:
                continue
            if b"--serve" not in command or (_server(command) and _server(_command(_parent(pid)))):
                return True
        return False

    def kill_like_a_lost_machine(self) -> None:
        assert self.proc is not None
        victims = [self.proc.pid, *_descendants(self.proc.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill_like_a_lost_machine()


def _server(command: bytes) -> bool:
    """A warm server's interpreter (or a child forked from it), not bubblewrap around it."""
    return b"--serve" in command and not command.split(b"\0", 1)[0].endswith(b"bwrap")


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _descendants(root: int) -> dict[int, int]:
    """Every live descendant of `root` with its depth below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, int] = {}
    frontier = [(root, 0)]
    while frontier:
        pid, depth = frontier.pop()
        for child in children.get(pid, []):
            found[child] = depth + 1
            frontier.append((child, depth + 1))
    return found
