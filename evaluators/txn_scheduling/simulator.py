"""The schedule simulator and the structural check of a returned schedule.

Semantics: transactions are taken in schedule order; each starts at the earliest time
when every earlier-scheduled transaction it conflicts with has finished, and any number
run at once otherwise. Two transactions conflict when one writes a key the other reads
or writes. So a schedule only matters through the direction it gives each conflicting
pair, and the makespan is the longest chain of conflicts it creates.

The per-key bookkeeping makes a placement cost O(keys of the transaction) instead of
O(transactions placed): a writer waits for the latest finish of every earlier reader
and writer of its keys, a reader for the latest finish of every earlier writer, and
that is exactly the latest finish among the earlier transactions it conflicts with.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

Txn = dict[str, Any]
# (reads, writes, duration) per transaction, prepared once per instance.
Footprint = tuple[tuple[int, ...], tuple[int, ...], float]


def footprints(txns: list[Txn]) -> list[Footprint]:
    return [
        (tuple(t["reads"]), tuple(t["writes"]), float(t["duration"]))
        for t in sorted(txns, key=lambda t: t["id"])
    ]


class ScheduleState:
    """A schedule prefix that can be extended one transaction at a time.

    The oracle exposes this (wrapped, to count the calls); it is also what any
    simulation here runs on, so the oracle and the evaluator never disagree.
    """

    __slots__ = ("_fp", "_write_end", "_read_end", "_placed", "order", "makespan")

    def __init__(self, fp: list[Footprint]) -> None:
        self._fp = fp
        self._write_end: dict[int, float] = {}
        self._read_end: dict[int, float] = {}
        self._placed = bytearray(len(fp))
        self.order: list[int] = []
        self.makespan = 0.0

    def copy(self) -> ScheduleState:
        other = ScheduleState.__new__(ScheduleState)
        other._fp = self._fp
        other._write_end = dict(self._write_end)
        other._read_end = dict(self._read_end)
        other._placed = bytearray(self._placed)
        other.order = list(self.order)
        other.makespan = self.makespan
        return other

    def is_placed(self, txn: int) -> bool:
        return bool(self._placed[txn])

    def start_of(self, txn: int) -> float:
        """When `txn` would start if it came next."""
        reads, writes, _ = self._fp[txn]
        write_end, read_end = self._write_end, self._read_end
        start = 0.0
        for key in writes:
            w = write_end.get(key, 0.0)
            r = read_end.get(key, 0.0)
            if w > start:
                start = w
            if r > start:
                start = r
        for key in reads:
            w = write_end.get(key, 0.0)
            if w > start:
                start = w
        return start

    def finish_if_appended(self, txn: int) -> float:
        return self.start_of(txn) + self._fp[txn][2]

    def append(self, txn: int) -> float:
        """Place `txn` next and return its finish time."""
        if self._placed[txn]:
            raise ValueError(f"txn {txn} is already in the schedule")
        reads, writes, duration = self._fp[txn]
        finish = self.start_of(txn) + duration
        write_end, read_end = self._write_end, self._read_end
        for key in writes:
            if finish > write_end.get(key, 0.0):
                write_end[key] = finish
        for key in reads:
            if finish > read_end.get(key, 0.0):
                read_end[key] = finish
        self._placed[txn] = 1
        self.order.append(txn)
        if finish > self.makespan:
            self.makespan = finish
        return finish


@dataclass(frozen=True)
class Simulation:
    """A full simulation, with what the feedback needs to explain the makespan."""

    start: list[float]
    finish: list[float]
    blocker: list[int]  # the transaction whose finish set this one's start (-1: none)
    makespan: float


def simulate(txns: list[Txn], order: list[int]) -> Simulation:
    """Simulate a complete, valid order (check it with `check_order` first)."""
    fp = footprints(txns)
    n = len(fp)
    start = [0.0] * n
    finish = [0.0] * n
    blocker = [-1] * n
    write_end: dict[int, tuple[float, int]] = {}
    read_end: dict[int, tuple[float, int]] = {}
    none = (0.0, -1)
    for txn in order:
        reads, writes, duration = fp[txn]
        best = none
        for key in writes:
            best = max(best, write_end.get(key, none), read_end.get(key, none))
        for key in reads:
            best = max(best, write_end.get(key, none))
        start[txn] = best[0]
        blocker[txn] = best[1]
        finish[txn] = best[0] + duration
        mine = (finish[txn], txn)
        for key in writes:
            if mine > write_end.get(key, none):
                write_end[key] = mine
        for key in reads:
            if mine > read_end.get(key, none):
                read_end[key] = mine
    return Simulation(start, finish, blocker, max(finish, default=0.0))


def check_order(order: Any, n: int) -> tuple[list[int] | None, str]:
    """The order as a list of ints, or None and a one-line reason naming the fault."""
    if not isinstance(order, (list, tuple)):
        return None, f"schedule() returned {type(order).__name__}, not a list of ints"
    ids: list[int] = []
    for position, item in enumerate(order):
        if isinstance(item, bool) or not hasattr(item, "__index__"):
            return None, (
                f"schedule() must return a list of ints; item {position} is "
                f"{type(item).__name__} {item!r:.40}"
            )
        ids.append(operator.index(item))
    seen = bytearray(n)
    for txn in ids:
        if not 0 <= txn < n:
            return None, f"unknown txn id {txn} (ids are 0..{n - 1})"
        if seen[txn]:
            return None, f"txn {txn} scheduled twice"
        seen[txn] = 1
    missing = [i for i in range(n) if not seen[i]]
    if missing:
        listed = ", ".join(str(i) for i in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return None, f"txn {listed}{more} missing from the schedule ({len(ids)} of {n} given)"
    return ids, ""


def lower_bound(txns: list[Txn]) -> tuple[float, int]:
    """A bound no schedule beats, and the key that sets it (-1: the longest transaction).

    All writers of a key exclude each other and every reader of it, and its readers can
    at best share one slot, so writers' total + the longest reader bounds the makespan.
    """
    writers: dict[int, float] = {}
    longest_reader: dict[int, float] = {}
    for t in txns:
        d = float(t["duration"])
        for key in t["writes"]:
            writers[key] = writers.get(key, 0.0) + d
        for key in t["reads"]:
            longest_reader[key] = max(longest_reader.get(key, 0.0), d)
    best = (max((float(t["duration"]) for t in txns), default=0.0), -1)
    for key, total in writers.items():
        best = max(best, (total + longest_reader.get(key, 0.0), key))
    return best
