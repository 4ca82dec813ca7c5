"""The public benchmark's conflict model: locks held per operation, one tick each.

The public ADRS transaction-scheduling simulator (skydiscover `txn_simulator.py`)
does not serialise whole transactions. A transaction of L operations runs for L ticks,
operation p (1-based) at tick `start + p - 1`, and each operation on a key holds that
key for its own tick only. Taken in schedule order, a transaction starts at the
earliest tick (at least 1) at which

- each of its writes falls after every earlier operation on that key, and
- each of its reads falls after every earlier write on that key,

so a conflicting transaction may overlap its predecessor as long as its operations on
the shared keys come later. Its finish is `start + L - 1`; the makespan is the latest
finish. `*` is an operation on no key: it only lengthens the transaction.

The public code keeps, per key, a time-sorted list of lock ticks and reads back the
last one (or the last write); since a write always lands after everything on its key,
that is the same as keeping the latest tick of any operation and the latest write
tick per key, which is what `PublicScheduleState` does. The tests check this model
against figures the public evaluator publishes (sequential order: 537).
"""

from __future__ import annotations

from dataclasses import dataclass

# (operations as (is_write, key, position), length) per transaction, prepared once.
PublicFootprint = tuple[tuple[tuple[bool, int, int], ...], int]


def parse_ops(ops: list[str]) -> PublicFootprint:
    """One transaction's operation strings (`"w-17"`, `"r-5"`, `"*"`) as a footprint.

    Raises ValueError on anything else, so a malformed instance fails loudly instead of
    being scored on a model it does not describe.
    """
    parsed: list[tuple[bool, int, int]] = []
    for position, op in enumerate(ops, start=1):
        if op == "*":
            continue
        kind, sep, key = op.partition("-")
        if kind not in ("r", "w") or not sep or not key.isdigit():
            raise ValueError(f"unknown operation {op!r} (expected r-KEY, w-KEY or *)")
        parsed.append((kind == "w", int(key), position))
    # The public simulator gives a transaction with no keyed operation length 0.
    return tuple(parsed), len(ops) if parsed else 0


def public_footprints(txns: list[dict]) -> list[PublicFootprint]:
    """Footprints in id order, from each transaction's `ops` (the public operation list)."""
    return [parse_ops(list(t["ops"])) for t in sorted(txns, key=lambda t: t["id"])]


class PublicScheduleState:
    """A schedule prefix under the public model, extended one transaction at a time.

    Same interface as `simulator.ScheduleState`, so the counting oracle serves either
    model; the evaluator simulates with this class too, so oracle and score agree.
    """

    __slots__ = ("_fp", "_last_any", "_last_write", "_placed", "order", "makespan")

    def __init__(self, fp: list[PublicFootprint]) -> None:
        self._fp = fp
        self._last_any: dict[int, int] = {}
        self._last_write: dict[int, int] = {}
        self._placed = bytearray(len(fp))
        self.order: list[int] = []
        self.makespan = 0

    def copy(self) -> PublicScheduleState:
        other = PublicScheduleState.__new__(PublicScheduleState)
        other._fp = self._fp
        other._last_any = dict(self._last_any)
        other._last_write = dict(self._last_write)
        other._placed = bytearray(self._placed)
        other.order = list(self.order)
        other.makespan = self.makespan
        return other

    def is_placed(self, txn: int) -> bool:
        return bool(self._placed[txn])

    def start_of(self, txn: int) -> int:
        """The tick `txn`'s first operation would run at if it came next."""
        ops, _ = self._fp[txn]
        start = 1
        for is_write, key, position in ops:
            # The operation must land one tick after the latest conflicting lock.
            held = self._last_any.get(key) if is_write else self._last_write.get(key)
            if held is not None and held + 2 - position > start:
                start = held + 2 - position
        return start

    def finish_if_appended(self, txn: int) -> int:
        return self.start_of(txn) + self._fp[txn][1] - 1

    def append(self, txn: int) -> int:
        """Place `txn` next and return its finish tick."""
        if self._placed[txn]:
            raise ValueError(f"txn {txn} is already in the schedule")
        ops, length = self._fp[txn]
        start = self.start_of(txn)
        for is_write, key, position in ops:
            tick = start + position - 1
            if tick > self._last_any.get(key, 0):
                self._last_any[key] = tick
            if is_write and tick > self._last_write.get(key, 0):
                self._last_write[key] = tick
        finish = start + length - 1
        self._placed[txn] = 1
        self.order.append(txn)
        if finish > self.makespan:
            self.makespan = finish
        return finish


def public_makespan(fp: list[PublicFootprint], order: list[int]) -> int:
    """The makespan of a valid order (ids unique) under the public model."""
    state = PublicScheduleState(fp)
    for txn in order:
        state.append(txn)
    return state.makespan


@dataclass(frozen=True)
class PublicReference:
    """The two ends of the public score's scale for a set of workloads."""

    sequential: int  # total makespan of the arrival orders: score 0
    optimal: int  # total of each workload's longest transaction: unreachable
    effective_optimal: float  # score 100

    def score(self, makespan: float) -> float:
        """The leaderboard's score, 0 (sequential or worse) to 100, clamped."""
        span = self.sequential - self.effective_optimal
        return max(0.0, min(100.0, 100.0 * (self.sequential - makespan) / span))


OPTIMAL_SHIFT = 0.10
"""The leaderboard moves its 100-point mark this share of the way from the theoretical
optimum towards the sequential makespan (its `OPTIMAL_SHIFT_FACTOR`)."""


def reference(workloads: list[list[PublicFootprint]]) -> PublicReference:
    """The score's scale for these workloads, computed as the leaderboard does."""
    sequential = sum(public_makespan(fp, list(range(len(fp)))) for fp in workloads)
    optimal = sum(max(length for _, length in fp) for fp in workloads)
    return PublicReference(sequential, optimal, optimal + OPTIMAL_SHIFT * (sequential - optimal))
