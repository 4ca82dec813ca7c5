"""The timing loop: warm-up first, a cache flush before every repetition, the median.

Driven by a host stopwatch whose clock the test controls, so the bookkeeping is
checked exactly; on a GPU the same loop runs with device events.
"""

from __future__ import annotations

from evoforge.kernels.evaluator.timing import MAX_REPS, MIN_REPS, Timing, measure, speedup


class ScriptedStopwatch:
    """A clock that advances by the scripted duration of each call it brackets."""

    def __init__(self, durations: list[float]) -> None:
        self.now = 0.0
        self.durations = durations
        self.calls = 0
        self.flushes = 0
        self.events: list[str] = []

    def call(self) -> None:
        self.now += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        self.events.append("call")

    def start(self) -> float:
        return self.now

    def stop(self) -> float:
        return self.now

    def elapsed_ms(self, started: float, stopped: float) -> float:
        return stopped - started

    def synchronize(self) -> None:
        self.events.append("sync")

    def flush(self) -> None:
        self.flushes += 1
        self.events.append("flush")


def test_every_timed_call_follows_a_flush_and_the_median_ignores_outliers() -> None:
    durations = [50.0] * 5 + [2.0] * 10 + [40.0] * 3  # slow warm-up, then three outliers
    watch = ScriptedStopwatch(durations)
    timing = measure(watch.call, watch, reps=13)
    assert watch.calls == 5 + 13
    assert watch.flushes == 13
    timed = watch.events[watch.events.index("sync", 1) :]
    pairs = [e for e in timed if e != "sync"]
    assert pairs == ["flush", "call"] * 13
    assert timing.median_ms == 2.0
    assert timing.reps == 13


def test_repetitions_follow_the_pace_of_the_warm_up_within_bounds() -> None:
    fast = ScriptedStopwatch([0.001])
    assert measure(fast.call, fast).reps == MAX_REPS
    slow = ScriptedStopwatch([100.0])
    assert measure(slow.call, slow).reps == MIN_REPS


def test_speedup_is_baseline_time_over_candidate_time() -> None:
    base = Timing(median_ms=3.0, q1_ms=2.9, q3_ms=3.1, reps=50)
    cand = Timing(median_ms=1.5, q1_ms=1.4, q3_ms=1.6, reps=50)
    assert speedup(base, cand) == 2.0
    assert speedup(None, cand) is None
    assert cand.spread == (1.6 - 1.4) / 1.5
