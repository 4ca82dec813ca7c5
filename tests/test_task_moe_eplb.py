"""The `moe_eplb` task as a user meets it: workloads, scoring, rejections, baselines, a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evoforge.evaluators.moe_eplb import evoforge_tasks
from evoforge.evaluators.moe_eplb.baseline_data import compute_baseline_scores, stored
from evoforge.evaluators.moe_eplb.evaluate import evaluate, smoke
from evoforge.evaluators.moe_eplb.workload import SPLITS, make_instance
from evoforge.task import Task

HEADER = "import numpy as np\n\n\n"
VALID_BODY = """
def rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus):
    layers, experts = weight.shape
    return np.tile(np.arange(num_replicas, dtype=np.int64) % experts, (layers, 1))
"""


@pytest.fixture(scope="module")
def task() -> Task:
    return evoforge_tasks()[0]


def write(tmp_path: Path, body: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(HEADER + body, "utf-8")
    return str(path)


def bad_policy(tmp_path: Path, returned: str) -> str:
    """A policy that builds a valid round-robin plan, then returns `returned` instead."""
    return write(
        tmp_path,
        "def rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus):\n"
        "    layers, experts = weight.shape\n"
        "    plan = np.tile(np.arange(num_replicas, dtype=np.int64) % experts, (layers, 1))\n"
        f"    return {returned}\n",
    )


def test_the_generator_is_deterministic_per_seed() -> None:
    spec = SPLITS["train"][0]
    first, again = make_instance(spec), make_instance(dict(spec))
    assert np.array_equal(first.loads, again.loads)
    other = make_instance({**spec, "seed": spec["seed"] + 1})
    assert not np.array_equal(first.loads, other.loads)
    assert first.loads.shape == (4, 4, 256) and first.loads.min() >= 1.0


def test_splits_have_unique_ids_and_disjoint_seeds() -> None:
    specs = [spec for split in SPLITS.values() for spec in split]
    assert len({s["id"] for s in specs}) == len(specs) == 20
    assert len({s["seed"] for s in specs}) == len(specs)


def test_the_evaluation_is_deterministic(task: Task, tmp_path: Path) -> None:
    path = str(tmp_path / "policy.py")
    Path(path).write_text(task.files[0].seed, "utf-8")
    specs = SPLITS["train"][:3]
    first, second = evaluate(path, specs), evaluate(path, specs)
    assert first.valid and first.instance_scores == second.instance_scores
    assert first.score == second.score and 0 < first.score <= 1
    assert set(first.instance_scores or {}) == {s["id"] for s in specs}
    assert "runtime_s" in first.metrics and "runtime_vs_baseline" in first.metrics
    assert "worst instances" in first.feedback and "hierarchical baseline" in first.feedback


def test_smoke_accepts_the_seed_and_rejects_a_broken_plan(task: Task, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "policy.py").write_text(task.files[0].seed, "utf-8")
    assert smoke(str(seed / "policy.py")).valid
    result = smoke(bad_policy(tmp_path, "plan[:, :10]"))
    assert not result.valid and result.reason.startswith("smoke: ")


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        ("plan.tolist()", "rebalance returned list, expected a numpy.ndarray"),
        ("plan[:, :256]", "phy2log has shape (4, 256), expected (4, 288)"),
        ("plan[:2]", "phy2log has shape (2, 288), expected (4, 288)"),
        ("plan.astype(float)", "phy2log has dtype float64, expected an integer dtype"),
        ("np.where(plan == 5, 300, plan)", "slot 5 holds expert 300, outside [0, 256)"),
        ("np.where(plan == 5, -1, plan)", "slot 5 holds expert -1, outside [0, 256)"),
        ("np.where(plan == 17, 18, plan)", "layer 0: expert 17 has load"),
    ],
)
def test_malformed_plans_are_rejected_with_their_reason(
    tmp_path: Path, returned: str, reason: str
) -> None:
    result = evaluate(bad_policy(tmp_path, returned), SPLITS["train"][:2])
    assert result.valid is False
    assert result.reason.startswith("train-00: ") and reason in result.reason
    assert result.score is None


def test_an_orphaned_expert_reason_names_layer_expert_and_load(tmp_path: Path) -> None:
    path = bad_policy(tmp_path, "np.where(plan == 17, 18, plan)")
    spec = SPLITS["validation"][1]
    load = make_instance(spec).loads[0, 0, 17]
    result = evaluate(path, [spec])
    assert result.reason.startswith(f"{spec['id']}: layer 0: expert 17 has load {load:.1f}")
    assert "but no replica" in result.reason


def test_a_policy_that_raises_is_invalid_naming_the_instance(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "def rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus):\n"
        "    if weight.max() > 0:\n"
        "        raise ValueError('no plan today')\n",
    )
    result = evaluate(path, SPLITS["test"][2:4])
    assert result.valid is False
    assert result.reason == "test-02: policy raised ValueError: no plan today"


def test_a_program_without_rebalance_is_invalid(tmp_path: Path) -> None:
    result = evaluate(write(tmp_path, "def other():\n    return 1\n"), SPLITS["train"][:1])
    assert result.valid is False and "rebalance" in result.reason


def test_a_valid_policy_may_not_alter_the_evaluators_data(tmp_path: Path) -> None:
    body = VALID_BODY.replace("layers, experts", "weight *= 0\n    layers, experts")
    first = evaluate(write(tmp_path, body), SPLITS["train"][:1])
    plain = evaluate(write(tmp_path, VALID_BODY, "plain.py"), SPLITS["train"][:1])
    assert first.valid and first.score == plain.score


def test_each_baseline_scores_its_documented_value(task: Task, tmp_path: Path) -> None:
    assert [b.name for b in task.baselines] == ["hierarchical", "round_robin"]
    for baseline in task.baselines:
        path = tmp_path / baseline.name / "policy.py"
        path.parent.mkdir()
        path.write_text(baseline.files["policy.py"], "utf-8")
        for split in ("train", "validation", "test"):
            result = evaluate(str(path), task.split_instances(split) or [])
            assert result.score == pytest.approx(baseline.scores[split], abs=1e-9)
    assert task.reference_score == task.baselines[0].scores["train"]


def test_the_stored_baseline_scores_are_current() -> None:
    assert compute_baseline_scores() == stored()


def test_the_seed_leaves_room_below_the_hierarchical_baseline(task: Task, tmp_path: Path) -> None:
    path = tmp_path / "policy.py"
    path.write_text(task.files[0].seed, "utf-8")
    seed_score = evaluate(str(path), task.instances or []).score or 0.0
    assert 0.6 < seed_score < task.baselines[0].scores["train"]


def test_the_task_is_registered() -> None:
    from evoforge.plugin_manager import registry

    task = registry().tasks()["moe_eplb"]
    assert task.files[0].name == "policy.py" and len(task.instances or []) == 8
    assert len(task.validation_instances or []) == 4 and len(task.test_instances or []) == 8
    assert "EVOLVE-BLOCK-START" in task.files[0].seed


def test_an_offline_run_stores_per_instance_scores(tmp_path: Path) -> None:
    from evoforge.api import run_task
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    url = f"sqlite:///{tmp_path}/runs.db"
    outcome = run_task("moe_eplb", db=url, max_evaluations=10, seed=1)
    repo = Repository(open_database(url))
    candidates = repo.evaluated_candidates(outcome.run_id)
    assert candidates
    seed = next(c for c in candidates if c.parent_id is None)
    outcome_of_seed = repo.stored_outcome(seed.id)
    assert outcome_of_seed is not None and outcome_of_seed.instance_scores is not None
    assert set(outcome_of_seed.instance_scores) >= {spec["id"] for spec in SPLITS["train"]}
