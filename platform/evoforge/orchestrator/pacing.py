"""How many proposals to keep in flight, from what the run measures.

The evaluation slots stay busy only if children arrive as fast as the slots finish
them. By Little's law that takes about `E × model latency / evaluation time`
proposals in flight, divided by the share of proposals that yield a child: with a
2 s model and a 0.5 s evaluation, 2 slots need 8 proposals in flight, not 2. A fixed
default is right for one model and task and wrong for the next, so `auto` follows
the measured figures, within `[floor, cap]`.
"""

from __future__ import annotations

import math

SMOOTHING = 0.3
"""Weight of the newest measurement in the moving averages: recent enough to follow a
model that slows down, smooth enough that one slow call does not double the slots."""
HEADROOM = 1.25
"""Extra proposals over the bare estimate, so the queue absorbs jitter in latency."""
MIN_YIELD = 0.25
"""The share of proposals that yield a child is never taken below this, so a streak
of rejected diffs cannot multiply the calls in flight without end."""


class ProposalPacer:
    """The proposal slots: a fixed number, or `auto` (measured, from `floor` to `cap`)."""

    def __init__(self, evaluation_slots: int, configured: int | str, cap: int) -> None:
        self.evaluation_slots = evaluation_slots
        self.fixed = configured if isinstance(configured, int) else None
        self.floor = min(2, cap)
        self.cap = cap
        self.latency_s: float | None = None
        self.evaluation_s: float | None = None
        self.yield_rate: float | None = None

    @property
    def slots(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if not self.latency_s or not self.evaluation_s:
            return self.floor
        share = max(self.yield_rate if self.yield_rate is not None else 1.0, MIN_YIELD)
        wanted = HEADROOM * self.evaluation_slots * self.latency_s / (self.evaluation_s * share)
        return max(self.floor, min(self.cap, math.ceil(wanted)))

    def proposal_finished(self, seconds: float, yielded_child: bool) -> None:
        self.latency_s = _smooth(self.latency_s, seconds)
        self.yield_rate = _smooth(self.yield_rate, 1.0 if yielded_child else 0.0)

    def evaluation_finished(self, seconds: float) -> None:
        self.evaluation_s = _smooth(self.evaluation_s, max(seconds, 1e-3))


def _smooth(average: float | None, value: float) -> float:
    return value if average is None else (1 - SMOOTHING) * average + SMOOTHING * value
