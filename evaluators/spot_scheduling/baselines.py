"""The shipped baselines and their stored per-instance scores.

The evaluator compares every candidate with the main baseline instance by instance,
and the task documents each baseline's mean per split. Both read
`baseline_scores.json`, written by this module's `__main__`, rather than re-simulating
the baselines in every evaluation. `compute_scores()` is the single source of those
figures, and the tests call it to prove the stored file is current.

Regenerate after changing the simulator, the generator or a baseline with
``python -m evoforge.evaluators.spot_scheduling.baselines``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from evoforge.evaluators.spot_scheduling.loader import load_policy
from evoforge.evaluators.spot_scheduling.simulator import simulate
from evoforge.evaluators.spot_scheduling.workload import SPLITS, make_instance

HERE = Path(__file__).parent
SCORES_FILE = HERE / "baseline_scores.json"
BASELINE_FILES: dict[str, str] = {
    "uniform_progress": "baseline_uniform_progress.py",
    "greedy": "baseline_greedy.py",
}
MAIN_BASELINE = "uniform_progress"


def compute_scores() -> dict[str, dict[str, float]]:
    """Simulate every baseline on every instance of every split: name -> id -> score."""
    scores: dict[str, dict[str, float]] = {}
    for name, filename in BASELINE_FILES.items():
        decide = load_policy(HERE / filename)
        scores[name] = {
            spec["id"]: simulate(make_instance(spec), decide).score
            for specs in SPLITS.values()
            for spec in specs
        }
    return scores


@functools.cache
def stored_scores() -> dict[str, dict[str, float]]:
    return json.loads(SCORES_FILE.read_text("utf-8"))


def split_score(name: str, split: str) -> float:
    """A baseline's documented score on a split: the mean, as `evaluate` computes it."""
    per_instance = stored_scores()[name]
    values = [per_instance[spec["id"]] for spec in SPLITS[split]]
    return sum(values) / len(values)


def main() -> None:
    SCORES_FILE.write_text(json.dumps(compute_scores(), indent=1) + "\n", "utf-8")
    stored_scores.cache_clear()
    for name in BASELINE_FILES:
        figures = ", ".join(f"{split} {split_score(name, split):.4f}" for split in SPLITS)
        print(f"{name}: {figures}")


if __name__ == "__main__":
    main()
