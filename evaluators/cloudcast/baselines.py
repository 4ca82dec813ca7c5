"""The shipped baseline policies and their stored scores.

`baseline_scores.json` holds each baseline's score per split and per instance, as
measured by `measure()`, and the exact optimum's (`optimum.py`) as a ceiling. The task's
`Baseline.scores` and the evaluator's feedback read it, and the tests re-measure it, so a
change to the simulator or the generator cannot leave a stale figure behind.
Regenerate with
`python -m evoforge.evaluators.cloudcast.baselines`.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
STORE = HERE / "baseline_scores.json"
MAIN = "shortest_paths"
OPTIMUM = "optimum"  # the exact Steiner optimum, stored beside the baselines as a ceiling

# name -> (program file, note); the first is the main baseline every score is relative to.
BASELINES: dict[str, tuple[str, str]] = {
    MAIN: (
        "baseline_shortest_paths.py",
        "Cheapest path per destination (Dijkstra on $/GB over links fast enough), "
        "union of the paths; the score's denominator, so 1.0 on every instance.",
    ),
    "direct": (
        "baseline_direct.py",
        "Direct transfer from the source to each destination, the cheapest relayed path "
        "only where the direct link is too slow.",
    ),
    "greedy_tree": (
        "baseline_greedy_tree.py",
        "Takahashi-Matsuyama Steiner heuristic: grow one tree, attaching the destination "
        "cheapest to reach from any region already in it.",
    ),
}


def program_text(name: str) -> str:
    return (HERE / BASELINES[name][0]).read_text("utf-8")


def measure() -> dict[str, Any]:
    """Evaluate every baseline on every split; the content of `baseline_scores.json`."""
    from .evaluate import evaluate
    from .workload import SPLITS

    measured: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in BASELINES:
            path = Path(folder) / f"{name}.py"
            path.write_text(program_text(name), "utf-8")
            splits: dict[str, float] = {}
            instances: dict[str, float] = {}
            for split, specs in SPLITS.items():
                result = evaluate(str(path), specs)
                if not result.valid or result.score is None:
                    raise RuntimeError(f"baseline {name} is invalid on {split}: {result.reason}")
                splits[split] = result.score
                instances.update(result.instance_scores or {})
            measured[name] = {"splits": splits, "instances": instances}
    measured[OPTIMUM] = ceiling()
    return measured


def ceiling() -> dict[str, Any]:
    """The exact optimum's score (baseline cost / optimal cost) per split and instance."""
    from . import baseline_shortest_paths
    from .evaluate import ARGUMENTS
    from .optimum import optimal_price_per_gb
    from .simulator import overlay_edges, price_per_gb
    from .workload import SPLITS, make_instance

    splits: dict[str, float] = {}
    instances: dict[str, float] = {}
    for split, specs in SPLITS.items():
        scores = []
        for spec in specs:
            instance = make_instance(spec)
            answer = baseline_shortest_paths.broadcast(**{k: instance[k] for k in ARGUMENTS})
            reference = price_per_gb(instance, overlay_edges(instance, answer))
            scores.append(reference / optimal_price_per_gb(instance))
            instances[spec["id"]] = scores[-1]
        splits[split] = sum(scores) / len(scores)
    return {"splits": splits, "instances": instances}


@cache
def stored() -> dict[str, Any]:
    """The scores last written by `measure()` (none before the first write)."""
    if not STORE.exists():
        return {}
    return json.loads(STORE.read_text("utf-8"))


def write() -> None:
    STORE.write_text(json.dumps(measure(), indent=1, sort_keys=True) + "\n", "utf-8")


if __name__ == "__main__":
    write()
