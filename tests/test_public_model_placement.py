"""`model_placement` on the public Prism protocol: the 50 public cases, the public 0..100
score and the published figure of its human baseline (greedy, 60.82 on the leaderboard)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.public_data import require_public

from evoforge.evaluators.model_placement.evaluate import evaluate
from evoforge.evaluators.model_placement.public_protocol import CASES_FILE, public_instances
from evoforge.evaluators.model_placement.public_simulator import (
    FULL_GPU_PRESSURE,
    case_score,
    judge_case,
    public_greedy_placement,
    summary,
)
from evoforge.evaluators.model_placement.workload import SPLITS

PACKAGE = Path(__file__).resolve().parents[1] / "evaluators" / "model_placement"
GREEDY = PACKAGE / "baseline_greedy.py"
LEADERBOARD_GREEDY_SCORE = 60.82  # the public human baseline, ADRS leaderboard (prism)
GREEDY_AVG_MAX_PRESSURE = 0.04787  # its average max KVPR (SkyDiscover prints 1/x = 20.892)


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    require_public(CASES_FILE)
    return public_instances()


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "policy.py"
    path.write_text(textwrap.dedent(body), "utf-8")
    return str(path)


def _task():  # noqa: ANN202 - evoforge.task.Task, imported lazily like the hook does
    from evoforge.plugin_manager import registry

    return registry().tasks()["model_placement"]


def test_the_public_cases_are_the_public_generators_draws_in_its_order(
    cases: list[dict[str, Any]],
) -> None:
    # The public evaluator: np.random.seed(42); per case randint(5, 10) GPUs, then per
    # model randint(10, 30) GB, randint(1, 10) req/s, randint(5, 10) SLO.
    rng = np.random.RandomState(42)
    assert len(cases) == 50
    assert len({case["id"] for case in cases}) == 50
    for case in cases:
        assert case["protocol"] == "public"
        assert case["num_gpus"] == rng.randint(5, 10)
        assert case["gpu_memory_gb"] == 80
        drawn = [
            (rng.randint(10, 30), rng.randint(1, 10), rng.randint(5, 10))
            for _ in range(2 * case["num_gpus"])
        ]
        assert [(m["size_gb"], m["rate"], m["slo_s"]) for m in case["models"]] == drawn
    assert json.loads(json.dumps(cases)) == cases  # plain data, as the sandbox gets it


def test_the_greedy_baseline_reproduces_its_leaderboard_figures_on_all_cases(
    cases: list[dict[str, Any]],
) -> None:
    figures = summary([judge_case(case, public_greedy_placement(case)) for case in cases])
    assert round(figures["public_score"], 2) == LEADERBOARD_GREEDY_SCORE
    assert round(figures["public_avg_max_kv_pressure"], 5) == GREEDY_AVG_MAX_PRESSURE
    assert figures["public_full_gpus"] == 0


def test_a_run_scores_the_tasks_greedy_baseline_at_the_leaderboard_figure(
    cases: list[dict[str, Any]],
) -> None:
    result = evaluate(str(GREEDY), cases)
    assert result.valid, result.reason
    assert round(result.score, 2) == LEADERBOARD_GREEDY_SCORE
    assert round(result.metrics["public_avg_max_kv_pressure"], 5) == GREEDY_AVG_MAX_PRESSURE
    # The task's greedy and the public one place every case alike.
    public = {case["id"]: judge_case(case, public_greedy_placement(case)).score for case in cases}
    assert result.instance_scores == public
    assert "public score 60.82 of 100" in result.feedback
    assert "average max KV-cache pressure 0.04787" in result.feedback


def test_the_shipped_baselines_public_scores_are_what_they_score(
    cases: list[dict[str, Any]], tmp_path: Path
) -> None:
    task = _task()
    assert task.public_protocol.endswith("public_protocol:public_instances")
    for baseline in task.baselines:
        path = _program(tmp_path, baseline.files["policy.py"])
        result = evaluate(path, cases)
        assert result.score == pytest.approx(baseline.scores["public"], abs=1e-9), baseline.name


@pytest.mark.parametrize(
    ("share", "points"), [(-0.3, 0.0), (0.0, 0.0), (0.25, 50.0), (0.5, 70.71), (1.0, 100.0)]
)
def test_a_case_scores_the_square_root_of_its_way_from_round_robin_to_the_bound(
    share: float, points: float
) -> None:
    round_robin, bound = 0.08, 0.04
    pressure = round_robin - share * (round_robin - bound)
    assert case_score(round_robin, bound, pressure) == pytest.approx(points, abs=0.005)
    assert case_score(round_robin, bound, bound / 2) == 100.0  # clamped, not above 100


def _hand_case() -> dict[str, Any]:
    sizes_loads = [(50, 4.0), (30, 1.0), (10, 2.0), (10, 2.0)]
    return {
        "protocol": "public",
        "id": "hand-0",
        "num_gpus": 2,
        "gpu_memory_gb": 80.0,
        "models": [
            {"name": f"m{i}", "size_gb": float(size), "rate": load, "slo_s": 1.0}
            for i, (size, load) in enumerate(sizes_loads)
        ],
    }


def test_a_gpu_filled_exactly_counts_the_public_penalty_not_a_rejection(tmp_path: Path) -> None:
    program = _program(
        tmp_path, "def place(models, num_gpus, gpu_memory_gb):\n    return [0, 0, 1, 1]\n"
    )
    result = evaluate(program, [_hand_case()])
    assert result.valid, result.reason
    assert result.metrics["public_avg_max_kv_pressure"] == FULL_GPU_PRESSURE
    assert result.metrics["public_full_gpus"] == 1
    assert result.score == 0.0
    assert "1,000,000" in result.feedback


HOSTILE = [
    # The public answer format (a dict of GPU -> models) and self-reported figures.
    ("return {0: models}", "place() returned dict, not a list"),
    ("return {'public_score': 100.0}", "place() returned dict, not a list"),
    ("return [0.5] * len(models)", "entry 0 is 0.5 (float), not an int GPU index"),
    ("return [0] * len(models)", "prism-00: GPU 0 over capacity: "),
    # One GPU per model: the public evaluator takes any dict key as a GPU.
    ("return list(range(len(models)))", "prism-00: model 8 (model_8) placed on GPU 8"),
    # The public evaluator drops a case that raises from its mean; here it is refused.
    (
        "if num_gpus == 9: raise ValueError('skip me')\n    return greedy()",
        "prism-01: policy raised ValueError: skip me",
    ),
]  # fmt: skip

GREEDY_THEN = """
from evoforge.evaluators.model_placement.reference import greedy_placement

def place(models, num_gpus, gpu_memory_gb):
    def greedy():
        return greedy_placement(models, num_gpus, gpu_memory_gb)
    {body}
"""


@pytest.mark.parametrize(("body", "reason"), HOSTILE)
def test_a_policy_cannot_score_by_breaking_the_public_rules(
    cases: list[dict[str, Any]], tmp_path: Path, body: str, reason: str
) -> None:
    result = evaluate(_program(tmp_path, GREEDY_THEN.format(body=body)), cases[:5])
    assert result.valid is False
    assert result.score is None
    assert reason in result.reason


def test_rewriting_the_models_it_was_given_changes_nothing(
    cases: list[dict[str, Any]], tmp_path: Path
) -> None:
    # The public evaluator scores the very objects it passed in, so zeroing their
    # rates would zero every pressure; here only the returned indices come back.
    cheat = """
        def place(models, num_gpus, gpu_memory_gb):
            placement = [i % num_gpus for i in range(len(models))]
            for model in models:
                model["rate"], model["size_gb"] = 0.0, 0.0
            return placement
    """
    result = evaluate(_program(tmp_path, cheat), cases[:5])
    assert result.valid, result.reason
    assert result.score == 0.0  # round robin is the 0-point reference
    assert result.metrics["public_avg_max_kv_pressure"] > 0


def test_a_job_mixing_public_and_own_cases_is_refused(
    cases: list[dict[str, Any]],
) -> None:
    result = evaluate(str(GREEDY), [cases[0], SPLITS["train"][0]])
    assert result.valid is False
    assert "mixes 1 public Prism case(s) with 1 of the task's own" in result.reason
