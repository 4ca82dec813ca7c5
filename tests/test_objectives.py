"""A task's objectives: the run is judged by the one named, or the first it can run."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import write_folder_task

from evoforge.api import run_task
from evoforge.config import ConfigError
from evoforge.executors.gpu_slots import GpuUnavailable

TASK_TOML = """
files = ["program.py"]

[objectives.quality]
metric = "quality"
note = "how good the answer is"

[objectives.cost]
metric = "cost"
direction = "minimize"
env = { JUDGE = "cost" }
note = "what the answer costs"

[objectives.timed]
metric = "seconds"
gpus = 1
"""

EVALUATE = """
import os

def evaluate(program_path):
    namespace = {}
    exec(open(program_path).read(), namespace)
    x = namespace["X"]
    judge = os.environ.get("JUDGE", "quality")
    return {"quality": x, "cost": 10 * x if judge == "cost" else -1.0, "seconds": 1.0}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder_task(
        tmp_path,
        "two_ways",
        {
            "task.toml": TASK_TOML,
            "evaluate.py": EVALUATE,
            "program.py": "# EVOLVE-BLOCK-START\nX = 2.0\n# EVOLVE-BLOCK-END\n",
        },
    )


def test_the_named_objective_sets_metric_direction_and_env(folder: Path, db_url: str) -> None:
    outcome = run_task(folder, db=db_url, objective="cost", max_evaluations=1)
    assert outcome.summary["objective"] == "cost"
    assert outcome.summary["objective_note"] == "what the answer costs"
    assert outcome.summary["direction"] == "minimize"
    assert outcome.summary["metric"] == "cost"
    assert outcome.best_score == 20.0  # the evaluator saw JUDGE=cost


def test_without_a_name_the_first_objective_is_taken(folder: Path, db_url: str) -> None:
    outcome = run_task(folder, db=db_url, max_evaluations=1)
    assert outcome.summary["objective"] == "quality"
    assert outcome.best_score == 2.0


def test_an_objective_needing_a_gpu_is_refused_without_one(folder: Path, db_url: str) -> None:
    with pytest.raises(GpuUnavailable, match="objective 'timed' is measured on a GPU"):
        run_task(folder, db=db_url, objective="timed", gpus=[], max_evaluations=1)
    with pytest.raises(ConfigError, match="offers: quality, cost, timed"):
        run_task(folder, db=db_url, objective="speed", max_evaluations=1)
