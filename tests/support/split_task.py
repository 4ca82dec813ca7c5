"""A task folder with train, validation and test instances: six weights, one per
instance slot, each scored by its distance to that split's target. Validation and
test shift the targets, so fitting training exactly does not fit them exactly."""

from __future__ import annotations

import textwrap
from pathlib import Path

PROGRAM = """\
# EVOLVE-BLOCK-START
W = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
# EVOLVE-BLOCK-END
"""

EVALUATE = """\
from evoforge.result import EvaluationResult


def evaluate(program_path, instances):
    scope = {}
    exec(open(program_path).read(), scope)
    weights = scope["W"]
    scores = {
        item["id"]: 1.0 / (1.0 + abs(weights[item["slot"]] - item["target"]))
        for item in instances
    }
    return EvaluationResult(
        score=sum(scores.values()) / len(scores), instance_scores=scores
    )
"""


def _split(prefix: str, shift: float) -> str:
    items = [
        f'{{ id = "{prefix}-{slot}", slot = {slot}, target = {2.0 + slot * 0.5 + shift} }}'
        for slot in range(6)
    ]
    return "[" + ", ".join(items) + "]"


def write_split_task(root: Path) -> Path:
    folder = root / "splits"
    folder.mkdir()
    (folder / "program.py").write_text(PROGRAM)
    (folder / "evaluate.py").write_text(EVALUATE)
    (folder / "task.toml").write_text(
        textwrap.dedent(
            f"""\
            files = ["program.py"]
            objective = "Move each weight to its instance's target."
            instances = {_split("train", 0.0)}
            validation_instances = {_split("val", 0.3)}
            test_instances = {_split("test", -0.3)}
            """
        )
    )
    return folder
