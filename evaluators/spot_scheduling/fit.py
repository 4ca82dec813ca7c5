"""Fit the synthetic trace generator to real availability traces.

Run ``python -m evoforge.evaluators.spot_scheduling.fit /path/to/spot_traces`` and paste
the printed `PROFILES` block into `workload.py`. The task ships only these constants, so
it runs anywhere, while its traces keep the character of the real ones.

The model is a two-state semi-Markov chain per trace: available and preempted stretches
alternate, and each stretch length (in 10-minute ticks) is a rounded log-normal draw.
Real stretch lengths are heavy-tailed (a few outages last days), so the log-normal's
sigma is the spread of the log-lengths, and its mu is then solved so that the mean of
the *rounded* draw equals the observed mean length. Matching the means keeps each
trace's availability rate, which is what decides the cost of a job. The first and the
last stretch of a trace are cut off by the recording window, so they are left out.
"""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from evoforge.evaluators.spot_scheduling.traces import Trace, load_folder, run_lengths

TICK_SECONDS = 600
MIN_SIGMA = 0.05  # a degenerate (constant-length) fit would divide by zero
TAIL_START = 2_000  # rounded lengths beyond this are summed in closed form


@dataclass(frozen=True)
class StretchFit:
    """Fitted stretch-length law of one state: observed mean and log-normal parameters."""

    mean: float
    mu: float
    sigma: float
    count: int


@dataclass(frozen=True)
class TraceFit:
    name: str
    availability: float
    available: StretchFit
    preempted: StretchFit


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def rounded_mean(mu: float, sigma: float) -> float:
    """Mean of max(1, round(exp(N(mu, sigma)))), the length the generator draws."""
    total = _phi((math.log(1.5) - mu) / sigma)  # everything below 1.5 becomes 1
    for k in range(2, TAIL_START):
        low, high = math.log(k - 0.5), math.log(k + 0.5)
        total += k * (_phi((high - mu) / sigma) - _phi((low - mu) / sigma))
    cut = math.log(TAIL_START - 0.5)
    total += math.exp(mu + sigma * sigma / 2) * _phi((mu + sigma * sigma - cut) / sigma)
    return total


def solve_mu(mean: float, sigma: float) -> float:
    """The mu whose rounded draw has this mean (bisection: the mean rises with mu)."""
    if mean <= 1.0:
        return -5.0 * sigma  # practically always one tick
    low, high = -10.0, math.log(mean) + 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if rounded_mean(middle, sigma) < mean:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def fit_stretches(lengths: list[int]) -> StretchFit:
    if len(lengths) < 2:
        raise ValueError("need at least two complete stretches of each state to fit")
    logs = [math.log(n) for n in lengths]
    sigma = max(MIN_SIGMA, statistics.pstdev(logs))
    mean = statistics.fmean(lengths)
    return StretchFit(mean=mean, mu=solve_mu(mean, sigma), sigma=sigma, count=len(lengths))


def fit_trace(trace: Trace) -> TraceFit:
    if trace.gap_seconds != TICK_SECONDS:
        raise ValueError(f"{trace.name}: ticks of {trace.gap_seconds} s; the task uses 600 s")
    inner = run_lengths(trace.available)[1:-1]  # the window truncates the outer two
    return TraceFit(
        name=trace.name,
        availability=trace.availability,
        available=fit_stretches([n for up, n in inner if up]),
        preempted=fit_stretches([n for up, n in inner if not up]),
    )


def fit_folder(folder: str | Path) -> list[TraceFit]:
    return [fit_trace(trace) for trace in load_folder(folder)]


def render(fits: list[TraceFit]) -> str:
    """The `PROFILES` block for workload.py."""
    lines = ["PROFILES: dict[str, Profile] = {"]
    for f in fits:
        lines.append(f'    "{f.name}": Profile(')
        lines.append(f"        availability={f.availability:.4f},")
        lines.append(f"        available_mean={f.available.mean:.3f},")
        lines.append(f"        available_mu={f.available.mu:.4f},")
        lines.append(f"        available_sigma={f.available.sigma:.4f},")
        lines.append(f"        preempted_mean={f.preempted.mean:.3f},")
        lines.append(f"        preempted_mu={f.preempted.mu:.4f},")
        lines.append(f"        preempted_sigma={f.preempted.sigma:.4f},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m evoforge.evaluators.spot_scheduling.fit TRACE_FOLDER", file=sys.stderr
        )
        return 2
    print(render(fit_folder(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
