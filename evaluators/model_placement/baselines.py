"""The shipped baseline policies and their stored per-case results.

The feedback compares a candidate with the baselines on the same cases; running the
baselines in every evaluation would double its cost, so their per-case results are
stored in `baseline_scores.json`. `compute_baseline_scores` regenerates that data
(`python -m evoforge.evaluators.model_placement.baselines`) and the tests check it
is current, so a change to the simulator or the generator cannot leave it stale.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SCORES_FILE = HERE / "baseline_scores.json"
MAIN_BASELINE = "greedy"
BASELINE_FILES: dict[str, str] = {
    "greedy": "baseline_greedy.py",
    "local_search": "baseline_local_search.py",
}


@functools.lru_cache(maxsize=1)
def stored_baseline_scores() -> dict[str, dict[str, dict[str, float]]]:
    """Per baseline, per case id: its `score` and `max_pressure` as stored."""
    if not SCORES_FILE.exists():
        return {}
    return json.loads(SCORES_FILE.read_text("utf-8"))


def compute_baseline_scores() -> dict[str, dict[str, dict[str, float]]]:
    """Evaluate every baseline on every split, per case, as the stored file holds it."""
    from evoforge.evaluators.loading import load_program
    from evoforge.evaluators.model_placement.simulator import simulate
    from evoforge.evaluators.model_placement.workload import SPLITS, make_instance

    result: dict[str, dict[str, dict[str, float]]] = {}
    for name, filename in BASELINE_FILES.items():
        place = load_program(HERE / filename).place
        per_case: dict[str, dict[str, float]] = {}
        for specs in SPLITS.values():
            for spec in specs:
                instance = make_instance(spec)
                models = [dict(model) for model in instance["models"]]
                simulation = simulate(
                    instance, place(models, instance["num_gpus"], instance["gpu_memory_gb"])
                )
                per_case[spec["id"]] = {
                    "score": instance["reference_max_pressure"] / simulation.max_pressure,
                    "max_pressure": simulation.max_pressure,
                }
        result[name] = per_case
    return result


def split_means(per_case: dict[str, dict[str, float]]) -> dict[str, float]:
    """A baseline's score per split: the mean of its per-case scores, as `evaluate` gives."""
    from evoforge.evaluators.model_placement.workload import SPLITS

    return {
        split: sum(per_case[spec["id"]]["score"] for spec in specs) / len(specs)
        for split, specs in SPLITS.items()
    }


def main() -> None:
    computed: dict[str, Any] = compute_baseline_scores()
    SCORES_FILE.write_text(json.dumps(computed, indent=1, sort_keys=True) + "\n", "utf-8")
    for name, per_case in computed.items():
        print(name, split_means(per_case))


if __name__ == "__main__":
    main()
