"""What every driver shares: read the run's spec, time the run, print one result line.

A driver runs one tool in its own process (so its memory is its own) and in the
tool's own environment; `compare.py` starts it with a spec file and reads the last
line it prints. Standard library only, for the same reason as `workload.py`.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def load_spec() -> dict[str, Any]:
    """The spec `compare.py` wrote: api_base, candidates, slots, eval_time, workdir, stamps."""
    return json.loads(Path(sys.argv[1]).read_text())


def stamp(path: str | None) -> None:
    """Record when an evaluation finished (peers only; evoforge's store has the times)."""
    if path:
        with open(path, "a") as handle:
            handle.write(f"{time.time()}\n")


def read_stamps(path: str | None) -> list[float]:
    if not path or not Path(path).exists():
        return []
    return sorted(float(line) for line in Path(path).read_text().split())


def steady_rate(stamps: list[float]) -> float | None:
    """Evaluations per second between the first and the last child evaluation.

    The first stamp is the seed's evaluation, behind start-up and the first model
    round trip: steady state starts after it, for every tool alike.
    """
    children = sorted(stamps)[1:]
    if len(children) < 2 or children[-1] == children[0]:
        return None
    return (len(children) - 1) / (children[-1] - children[0])


def timed(run: Callable[[], dict[str, Any]]) -> None:
    """Run the tool, then print its figures as the last line of stdout.

    The clock starts after the driver's imports (litellm's take seconds), so the
    figures are the framework's work per candidate, not the interpreter's start-up.
    """
    started = time.perf_counter()
    figures = run()
    figures["wall_s"] = time.perf_counter() - started
    figures["main_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.flush()
    print("\n" + json.dumps(figures), flush=True)
