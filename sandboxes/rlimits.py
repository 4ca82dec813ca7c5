"""Resource limits the harness sets on itself before any candidate code runs.

Imported by the harness in every sandbox process: standard library only, no `typing`.
"""

from __future__ import annotations

import resource

TYPE_CHECKING = False  # `typing` costs every evaluation milliseconds to import
if TYPE_CHECKING:
    from typing import Any


def apply_limits(limits: dict[str, Any]) -> None:
    """Set the rlimits named in the spec; each stays at or under the inherited hard limit."""

    def cap(which: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        inherited = resource.getrlimit(which)[1]
        if inherited != resource.RLIM_INFINITY:
            soft, hard = min(soft, inherited), min(hard, inherited)
        # A limit we cannot set is still enforced from outside (deadline, cgroup).
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):
            pass

    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) << 20)
    if limits.get("cpu_s"):
        cpu = int(limits["cpu_s"])
        cap(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU at the soft limit, SIGKILL a second later
    if limits.get("max_file_mb"):
        cap(resource.RLIMIT_FSIZE, int(limits["max_file_mb"]) << 20)
    if limits.get("max_open_files"):
        cap(resource.RLIMIT_NOFILE, int(limits["max_open_files"]))
    if limits.get("max_processes"):
        # RLIMIT_NPROC counts every task of this user, so the limit is relative to what
        # runs now. /proc/loadavg's "running/total" counts tasks (threads) like the kernel.
        try:
            with open("/proc/loadavg") as handle:
                existing = int(handle.read().split()[3].split("/")[1])
        except (OSError, ValueError, IndexError):
            existing = 0
        cap(resource.RLIMIT_NPROC, existing + int(limits["max_processes"]))
    cap(resource.RLIMIT_CORE, 0)
