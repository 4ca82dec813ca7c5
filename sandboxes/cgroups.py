"""Per-evaluation pids cgroups: the only process-sandbox limit a root candidate cannot shed.

RLIMIT_NPROC counts per user and the kernel ignores it for root, and a candidate can
leave its process group with `setsid()`. A pids cgroup holds every descendant
whatever it does, caps how many tasks (processes and threads) it may have, and lists
them all so the sandbox can kill every one at the end.

Works where this process may write a pids hierarchy: cgroup v1 at
`/sys/fs/cgroup/pids`, or cgroup v2 where our own cgroup already delegates the pids
controller to its children (or is the root, where we may enable it). Elsewhere
`PidsCgroup.create` returns None and the sandbox falls back to rlimits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from pathlib import Path

PREFIX = "evoforge-"
_V1_ROOT = Path("/sys/fs/cgroup/pids")
_V2_ROOT = Path("/sys/fs/cgroup")

_lock = threading.Lock()
_base: Path | None | bool = False  # False: not probed yet; None: no usable hierarchy
# Cgroups that were still busy (a reparented zombie not yet reaped by init) when their
# evaluation ended; every later `create` retries removing them.
_leftover: set[Path] = set()


def _own_cgroup(controller: str | None) -> str | None:
    """Our path in the v1 hierarchy of `controller`, or in the v2 one when None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller is None and controllers == "":
            return path
        if controller is not None and controller in controllers.split(","):
            return path
    return None


def _probe(base: Path) -> bool:
    """Whether we can make a child cgroup with a pids limit under `base`, and remove it."""
    probe = base / f"{PREFIX}probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        (probe / "pids.max").write_text("1")
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _find_base() -> Path | None:
    own = _own_cgroup("pids")
    if own is not None and _V1_ROOT.is_dir():
        base = _V1_ROOT / own.lstrip("/")
        if os.access(base, os.W_OK) and _probe(base):
            return base
    own = _own_cgroup(None)
    if own is not None and (_V2_ROOT / "cgroup.controllers").is_file():
        base = _V2_ROOT / own.lstrip("/")
        control = base / "cgroup.subtree_control"
        try:
            if "pids" not in control.read_text().split():
                control.write_text("+pids")  # allowed at the root, or in an empty cgroup
        except OSError:
            return None
        if _probe(base):
            return base
    return None


def pids_cgroup_base() -> Path | None:
    """The folder per-evaluation cgroups go in, probed once per process; None if none."""
    global _base
    with _lock:
        if _base is False:
            _base = _find_base()
            if _base is not None:
                _sweep_orphans(_base)
        return _base if isinstance(_base, Path) else None


def _sweep_orphans(base: Path) -> None:
    """Remove empty cgroups left by evoforge processes that were killed (`kill -9`).

    Names carry the creating process's pid; a cgroup whose creator is gone and that
    holds no task is nobody's. A busy one is left alone: its tasks still need killing
    by whoever owns them, or it is a live evaluation of another orchestrator.
    """
    for path in base.glob(f"{PREFIX}*"):
        owner = path.name[len(PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or Path(f"/proc/{owner}").exists():
            continue
        if not _read_pids(path / "cgroup.procs"):
            with contextlib.suppress(OSError):
                path.rmdir()


def _read_pids(procs: Path) -> list[int]:
    try:
        return [int(line) for line in procs.read_text().split()]
    except (OSError, ValueError):
        return []


class Cgroup:
    """One evaluation's cgroup of some controller: joined before the child runs code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, pid: int) -> bool:
        """Move `pid` in; the child must not have run candidate code yet."""
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
            return True
        except OSError:
            return False

    def pids(self) -> list[int]:
        return _read_pids(self.path / "cgroup.procs")

    def kill_all(self, grace_s: float = 2.0, spare: int | None = None) -> None:
        """SIGKILL every task in the cgroup until it is empty (or `grace_s` passes).

        A task with a pending SIGKILL cannot fork, so a fork bomb dies within a round or
        two; the remaining rounds only wait for killed tasks to finish exiting. `spare`
        is a warm server that lives in its slot's cgroup: it alone is left.
        """
        kill_file = self.path / "cgroup.kill"  # cgroup v2, Linux 5.14+: atomic
        if spare is None and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        deadline = time.monotonic() + grace_s
        pause = 0.0005
        while pids := [pid for pid in self.pids() if pid != spare]:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return
            time.sleep(pause)  # only reached when something was still alive
            pause = min(pause * 2, 0.02)


class PidsCgroup(Cgroup):
    """One evaluation's pids cgroup: created before the child runs code, removed after."""

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        """A fresh cgroup allowing `max_pids` tasks, or None where cgroups are unusable."""
        base = pids_cgroup_base()
        if base is None:
            return None
        _retry_leftovers()
        path = base / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def remove(self) -> None:
        """Remove the cgroup; one kept busy by an unreaped zombie is retried later."""
        if not _try_rmdir(self.path, attempts=5):
            with _lock:
                _leftover.add(self.path)


def _try_rmdir(path: Path, attempts: int) -> bool:
    pause = 0.001
    for attempt in range(attempts):
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if attempt + 1 < attempts:
                time.sleep(pause)
                pause *= 2
    return False


def _retry_leftovers() -> None:
    with _lock:
        pending = list(_leftover)
    for path in pending:
        if _try_rmdir(path, attempts=1):
            with _lock:
                _leftover.discard(path)
