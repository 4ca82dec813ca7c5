"""The baselines' measured scores, stored so feedback and the task model can cite them.

Evaluating the baselines inside every candidate's evaluation would double its cost, so
their scores per instance and per split live in `baseline_scores.json`. The tests
recompute them with `compute_baseline_scores()`, so a changed simulator or generator
cannot leave stale figures behind. Regenerate with
`python -m evoforge.evaluators.moe_eplb.baseline_data`.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
STORE = HERE / "baseline_scores.json"
MAIN = "hierarchical"
BASELINE_FILES: dict[str, str] = {
    "hierarchical": "baseline_hierarchical.py",
    "round_robin": "baseline_round_robin.py",
}


@cache
def stored() -> dict[str, Any]:
    """{baseline: {split: {"mean": x, "instances": {id: score}}}} as last computed."""
    if not STORE.exists():
        return {}
    return json.loads(STORE.read_text("utf-8"))


def stored_instance_scores(name: str = MAIN) -> dict[str, float]:
    """Per-instance scores of one baseline over every split (ids are unique)."""
    return {
        spec_id: score
        for split in stored().get(name, {}).values()
        for spec_id, score in split["instances"].items()
    }


def stored_split_scores(name: str) -> dict[str, float]:
    return {split: data["mean"] for split, data in stored().get(name, {}).items()}


def compute_baseline_scores() -> dict[str, Any]:
    """Evaluate every baseline on every split, in the layout `stored()` returns."""
    from evoforge.evaluators.moe_eplb.evaluate import evaluate
    from evoforge.evaluators.moe_eplb.workload import SPLITS

    table: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, filename in BASELINE_FILES.items():
            path = Path(folder) / filename
            path.write_text((HERE / filename).read_text("utf-8"), "utf-8")
            table[name] = {}
            for split, specs in SPLITS.items():
                result = evaluate(str(path), specs)
                if not result.valid or result.score is None:
                    raise RuntimeError(f"baseline {name} is invalid on {split}: {result.reason}")
                table[name][split] = {
                    "mean": result.score,
                    "instances": dict(result.instance_scores or {}),
                }
    return table


def main() -> None:
    STORE.write_text(json.dumps(compute_baseline_scores(), indent=1) + "\n", "utf-8")
    print(f"wrote {STORE}")


if __name__ == "__main__":
    main()
