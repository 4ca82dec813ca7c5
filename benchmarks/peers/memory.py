"""Peak resident memory of a process and everything it starts, sampled from /proc.

A tool's memory is more than its main process: OpenEvolve keeps a pool of worker
processes, evoforge starts a sandboxed process per evaluation. The sum over the
live process tree is what the machine has to hold, so that is what is sampled.
Linux only (it reads /proc/<pid>/task/<tid>/children and /proc/<pid>/statm).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children(pid: int) -> list[int]:
    """Processes end between any two reads here (an evaluation finishing): skip them."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def tree_rss_kb(root: int) -> int:
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KB
        except (OSError, ValueError, IndexError):
            continue
        pending.extend(_children(pid))
    return total


class PeakTreeRss(threading.Thread):
    """`with PeakTreeRss(pid) as peak:` … then `peak.mb`: the largest sum seen."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval_s = interval_s
        self.peak_kb = 0
        self._halt = threading.Event()

    @property
    def mb(self) -> float:
        return self.peak_kb / 1024

    def run(self) -> None:
        while not self._halt.wait(self.interval_s):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))

    def __enter__(self) -> PeakTreeRss:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self.join()
