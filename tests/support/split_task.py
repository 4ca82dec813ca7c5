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
        score=sum(scores.values()) / len(scores), instance_scores=scores, metrics=METRICS
    )
"""
SPREAD = '{"spread": max(weights) - min(weights)}'
"""A named metric besides the score, so a Pareto front has two axes to draw."""


def _split(prefix: str, shift: float) -> str:
    items = [
        f'{{ id = "{prefix}-{slot}", slot = {slot}, target = {2.0 + slot * 0.5 + shift} }}'
        for slot in range(6)
    ]
    return "[" + ", ".join(items) + "]"


def write_split_task(root: Path, spread_metric: bool = False) -> Path:
    folder = root / "splits"
    folder.mkdir()
    (folder / "program.py").write_text(PROGRAM)
    (folder / "evaluate.py").write_text(
        EVALUATE.replace("METRICS", SPREAD if spread_metric else "{}")
    )
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


PUBLIC = """\
def public_instances():
    # What a public benchmark's loader returns: plain instances with their own targets.
    return [
        {"protocol": "public", "id": f"pub-{slot}", "slot": slot, "target": 1.0 + slot}
        for slot in range(6)
    ]
"""

PUBLIC_UNITS = """
def evaluate(program_path, instances):
    result = split_evaluate(program_path, instances)
    if all(item.get("protocol") == "public" for item in instances):
        # A public protocol reports its own units beside its score, as a benchmark does.
        scope = {}
        exec(open(program_path).read(), scope)
        cost = sum(abs(scope["W"][i["slot"]] - i["target"]) for i in instances)
        result.metrics = {"public_cost_usd": round(100.0 + cost, 2), "late_scenarios": 0}
    return result
"""
"""The seed (every weight 1.0) costs 100 + (0 + 1 + ... + 5) = 115.0 on these targets."""


def write_public_split_task(root: Path) -> Path:
    """The split task with a public protocol: six public instances with their own
    targets, on which the evaluator also reports a cost in the benchmark's units."""
    folder = write_split_task(root)
    evaluator = folder / "evaluate.py"
    own = evaluator.read_text().replace("def evaluate(", "def split_evaluate(")
    evaluator.write_text(own + PUBLIC_UNITS)
    (folder / "public.py").write_text(PUBLIC)
    with (folder / "task.toml").open("a") as toml:
        toml.write('public_protocol = "public.py:public_instances"\n')
    return folder
