"""evoforge on the shared work, in evoforge's own environment (see compare.py).

Defaults kept (the islands strategy, the process sandbox, the local executor, a
SQLite store), except what makes the work equal: the llm proposer with one model at
the loopback server, in diff mode only (SEARCH/REPLACE blocks, as OpenEvolve), the
budget (the seed plus one evaluation per candidate) and `evaluation_slots`.
"""

from __future__ import annotations

import sys
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import load_spec, steady_rate, timed  # noqa: E402
from workload import PROGRAM, evaluator_source  # noqa: E402

from evoforge.api import run_task  # noqa: E402
from evoforge.config import RunConfig  # noqa: E402
from evoforge.plugins.proposers.llm.calls import litellm_module  # noqa: E402
from evoforge.store.database import open_database  # noqa: E402
from evoforge.store.repository import Repository  # noqa: E402

MODEL = "openai/evoforge-bench"


def write_task(folder: Path, eval_time: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.toml").write_text('files = ["program.py"]\n')
    (folder / "program.py").write_text(PROGRAM)
    (folder / "evaluate.py").write_text(evaluator_source("evoforge", eval_time))


def evaluation_stamps(db: str, run_id: str) -> list[float]:
    """When each evaluation was stored, the seed's included (it is dropped later)."""
    points = Repository(open_database(db)).evaluation_points(run_id)
    return sorted(datetime.fromisoformat(p["created_at"]).timestamp() for p in points)


def main() -> None:
    spec = load_spec()
    work = Path(spec["workdir"])
    folder = work / "task"
    write_task(folder, spec["eval_time"])
    db = f"sqlite:///{work / 'evoforge.db'}"
    options: dict[str, Any] = {
        "max_evaluations": spec["candidates"] + 1,  # the seed, then one per candidate
        "evaluation_slots": spec["slots"],
        "proposer": "llm",
        "proposer_options": {
            "models": [
                {
                    "model": MODEL,
                    "api_base": spec["api_base"],
                    "input_cost_per_million": 0.0,
                    "output_cost_per_million": 0.0,
                }
            ],
            "mode_weights": {"diff": 1.0},  # OpenEvolve's default: SEARCH/REPLACE only
        },
    }
    defaults = RunConfig()
    if spec.get("proposal_slots"):  # model calls in flight; the peers tie theirs to workers
        options["proposal_slots"] = spec["proposal_slots"]
    litellm_module()  # imported before the clock starts, as every driver does its imports
    settings = {
        "evoforge": version("evoforge"),
        "max_evaluations": options["max_evaluations"],
        "evaluation_slots": spec["slots"],
        "proposal_slots": options.get("proposal_slots", defaults.proposal_slots),
        "proposer": f"llm ({MODEL}, mode_weights diff=1)",
        "strategy": defaults.strategy,
        "sandbox": f"{defaults.sandbox} (every candidate in its own sandboxed process, forked "
        "from a warm server per slot)",
        "executor": "local",
        "store": "SQLite",
    }

    def run() -> dict[str, Any]:
        outcome = run_task(folder, db=db, **options)
        evaluations = outcome.summary["evaluations"]["total"]
        return {
            "tool": "evoforge",
            "candidates": evaluations - 1,
            "evaluations": evaluations,
            "steady_rate": steady_rate(evaluation_stamps(db, outcome.run_id)),
            "best": outcome.summary.get("best_score"),
            "settings": settings,
        }

    timed(run)


if __name__ == "__main__":
    main()
