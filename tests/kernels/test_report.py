"""fast_p and the geometric mean: the figures a kernel paper quotes, from best candidates."""

from __future__ import annotations

import math

import pytest

from evoforge.kernels.report import RunLine, summarize


def line(task: str, correct: bool, speedup: float | None, timed: bool = True) -> RunLine:
    return RunLine("r-" + task, task, "speedup", correct, timed, speedup, False)


def test_fast_p_counts_correct_runs_faster_than_each_threshold() -> None:
    report = summarize(
        [
            line("a", True, 0.8),
            line("b", True, 1.1),
            line("c", True, 1.6),
            line("d", True, 2.5),
            line("e", False, None),
        ]
    )
    assert report.fast_p == {
        "fast_0": 0.8,
        "fast_1": 0.6,
        "fast_1.2": 0.4,
        "fast_1.5": 0.4,
        "fast_2": 0.2,
    }
    assert report.geomean_speedup == pytest.approx(math.prod([0.8, 1.1, 1.6, 2.5]) ** 0.25)
    assert report.untimed == 0


def test_an_incorrect_kernel_is_never_fast_however_quick() -> None:
    report = summarize([line("a", False, 50.0), line("b", True, 1.5)])
    assert report.fast_p["fast_2"] == 0.0
    assert report.geomean_speedup == pytest.approx(1.5)


def test_untimed_runs_count_for_correctness_only() -> None:
    report = summarize([line("a", True, None, timed=False), line("b", True, 3.0)])
    assert report.fast_p["fast_0"] == 1.0
    assert report.fast_p["fast_2"] == 0.5
    assert report.untimed == 1
    assert report.geomean_speedup == pytest.approx(3.0)
