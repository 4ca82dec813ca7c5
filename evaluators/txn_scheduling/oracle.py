"""The cost oracle a policy gets: simulation on demand, every call counted.

Counting oracle work instead of timing the policy keeps the score deterministic: the
same program on the same instance always uses the same number of steps. A step is one
transaction placed or probed, so a full simulation of k transactions costs k steps and
one greedy probe costs 1. The budget is strict (over it, the candidate is invalid) and
using it is not free (the score loses `PENALTY` x the fraction used).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .simulator import ScheduleState

BUDGET_PER_N2 = 4  # budget = 4 * N^2 steps: about eight full greedy passes
PENALTY = 0.05  # score lost at 100 % of the budget


def budget_for(n: int) -> int:
    return BUDGET_PER_N2 * n * n


class _Meter:
    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0


class PartialSchedule:
    """A prefix being built by the policy; probing or extending it costs 1 step each."""

    __slots__ = ("_state", "_meter")

    def __init__(self, state: ScheduleState, meter: _Meter) -> None:
        self._state = state
        self._meter = meter

    @property
    def order(self) -> list[int]:
        """The transactions placed so far, in order (a copy)."""
        return list(self._state.order)

    @property
    def makespan(self) -> float:
        """The latest finish among the transactions placed so far."""
        return self._state.makespan

    def __len__(self) -> int:
        return len(self._state.order)

    def is_placed(self, txn: int) -> bool:
        return self._state.is_placed(txn)

    def finish_if_appended(self, txn: int) -> float:
        """The finish time `txn` would get if placed next (1 step; nothing changes)."""
        self._meter.used += 1
        self._check(txn)
        return self._state.finish_if_appended(txn)

    def append(self, txn: int) -> float:
        """Place `txn` next and return its finish time (1 step)."""
        self._meter.used += 1
        self._check(txn)
        return self._state.append(txn)

    def copy(self) -> PartialSchedule:
        """An independent copy (free: it reveals nothing new), for beam or lookahead."""
        return PartialSchedule(self._state.copy(), self._meter)

    def _check(self, txn: int) -> None:
        if not 0 <= txn < len(self._state._fp):  # noqa: SLF001 (negative ids would wrap)
            raise ValueError(f"unknown txn id {txn!r}")


class Oracle:
    """What `schedule(txns, oracle)` receives; see the task background for the contract.

    `state_type` is the simulator the oracle answers with: the task's own
    (`ScheduleState`) or, on the public protocol, the public per-operation model
    (`public_simulator.PublicScheduleState`); both take the footprints they are given.
    """

    __slots__ = ("_fp", "_meter", "n", "budget", "_state_type")

    def __init__(self, fp: list[Any], budget: int, state_type: type = ScheduleState) -> None:
        self._fp = fp
        self._state_type = state_type
        self._meter = _Meter()
        self.n = len(fp)
        self.budget = budget

    @property
    def used(self) -> int:
        """Steps spent so far."""
        return self._meter.used

    @property
    def remaining(self) -> int:
        """Steps left before the budget is exceeded (negative once it is)."""
        return self.budget - self._meter.used

    def makespan(self, order: Iterable[int]) -> float:
        """The makespan of a schedule prefix (len(order) steps); ids may not repeat."""
        state = self.new_schedule()
        for txn in order:
            state.append(txn)
        return state.makespan

    def new_schedule(self) -> PartialSchedule:
        """An empty schedule to extend step by step (free)."""
        return PartialSchedule(self._state_type(self._fp), self._meter)
