"""Per-evaluation memory cgroups: the memory limit a candidate cannot step around.

RLIMIT_AS counts address space only: pages held in a memfd, in /dev/shm or in a
tmpfs (the work folder included) are not in it, so a candidate held 1.5 GB in a
memfd under a 256 MB limit. A memory cgroup charges every page the candidate's
processes touch, file-backed and shared ones included; at the limit the kernel
reclaims, then kills inside the cgroup, never elsewhere on the machine.

cgroup v1 (`/sys/fs/cgroup/memory`) or v2 (the memory controller delegated to our
cgroup's children). Where neither is writable `MemoryCgroup.create` returns None and
the rlimit and tmpfs caps are the fallback; the outcome's sandbox then says
`no-memory-cgroup`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from pathlib import Path

from evoforge.sandboxes.cgroups import PREFIX, Cgroup, _own_cgroup, _try_rmdir

_V1_ROOT = Path("/sys/fs/cgroup/memory")
_V2_ROOT = Path("/sys/fs/cgroup")

_lock = threading.Lock()
_base: tuple[Path, int] | None | bool = False  # (folder, version); False: not probed yet


def _v1_base() -> Path | None:
    own = _own_cgroup("memory")
    if own is None or not _V1_ROOT.is_dir():
        return None
    base = _V1_ROOT / own.lstrip("/")
    return base if os.access(base, os.W_OK) else None


def _v2_base() -> Path | None:
    own = _own_cgroup(None)
    if own is None or not (_V2_ROOT / "cgroup.controllers").is_file():
        return None
    base = _V2_ROOT / own.lstrip("/")
    control = base / "cgroup.subtree_control"
    try:
        if "memory" not in control.read_text().split():
            control.write_text("+memory")
    except OSError:
        return None
    return base


def _probe(base: Path, version: int) -> bool:
    probe = base / f"{PREFIX}probe-mem-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        limit = "memory.limit_in_bytes" if version == 1 else "memory.max"
        (probe / limit).write_text(str(64 << 20))
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def memory_cgroup_base() -> tuple[Path, int] | None:
    """Where per-evaluation memory cgroups go, and the cgroup version; probed once."""
    global _base
    with _lock:
        if _base is False:
            _base = None
            for version, finder in ((1, _v1_base), (2, _v2_base)):
                base = finder()
                if base is not None and _probe(base, version):
                    _base = (base, version)
                    break
        return _base if isinstance(_base, tuple) else None


class MemoryCgroup(Cgroup):
    """One evaluation's memory cgroup: joined before the candidate runs, removed after."""

    def __init__(self, path: Path, version: int, limit_mb: int) -> None:
        super().__init__(path)
        self.version = version
        self.limit_mb = limit_mb

    @classmethod
    def create(cls, limit_mb: int) -> MemoryCgroup | None:
        found = memory_cgroup_base()
        if found is None:
            return None
        base, version = found
        path = base / f"{PREFIX}{os.getpid()}-mem-{uuid.uuid4().hex[:12]}"
        limit = str(limit_mb << 20)
        try:
            path.mkdir()
            if version == 1:
                (path / "memory.limit_in_bytes").write_text(limit)
                swap = path / "memory.memsw.limit_in_bytes"  # only with swap accounting
                if swap.exists():
                    swap.write_text(limit)
            else:
                (path / "memory.max").write_text(limit)
                with contextlib.suppress(OSError):
                    (path / "memory.swap.max").write_text("0")
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path, version, limit_mb)

    def hit_limit(self) -> bool:
        """Whether the kernel had to kill inside this cgroup for want of memory."""
        return self.oom_kills() > 0

    def oom_kills(self) -> int:
        """How many tasks the kernel killed in this cgroup for want of memory so far (a
        warm slot's cgroup serves many evaluations: each compares before and after)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            fields = dict(line.split() for line in (self.path / name).read_text().splitlines())
            return int(fields.get("oom_kill", "0"))
        except (OSError, ValueError):
            return 0

    def set_limit(self, limit_mb: int) -> None:
        """A new limit for the evaluations from now on (a warm slot's next job)."""
        if limit_mb == self.limit_mb:
            return
        limit = str(limit_mb << 20)
        names = ["memory.limit_in_bytes"] if self.version == 1 else ["memory.max"]
        if self.version == 1 and (self.path / "memory.memsw.limit_in_bytes").exists():
            names.append("memory.memsw.limit_in_bytes")
        for name in names:
            with contextlib.suppress(OSError):
                (self.path / name).write_text(limit)
        self.limit_mb = limit_mb

    def remove(self) -> None:
        """Remove the cgroup once its tasks are gone (the sandbox killed them already)."""
        if self.version == 1:
            # Charged pages (a tmpfs the candidate filled) move to the parent, not lost.
            with contextlib.suppress(OSError):
                (self.path / "memory.force_empty").write_text("0")
        _try_rmdir(self.path, attempts=8)
