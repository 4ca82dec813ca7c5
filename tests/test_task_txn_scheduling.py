"""The `txn_scheduling` task as a user meets it: workloads, scores, rejections, baselines, a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.evaluators.txn_scheduling import evoforge_tasks
from evoforge.evaluators.txn_scheduling.evaluate import evaluate, smoke
from evoforge.evaluators.txn_scheduling.oracle import Oracle, budget_for
from evoforge.evaluators.txn_scheduling.reference import compute_table, load_table
from evoforge.evaluators.txn_scheduling.simulator import footprints, simulate
from evoforge.evaluators.txn_scheduling.workload import SPLITS, make_instance
from evoforge.task import Task

TRAIN = SPLITS["train"]
SMALL = TRAIN[:2]  # 60 and 80 transactions: quick enough for the rejection tests


@pytest.fixture(scope="module")
def task() -> Task:
    return evoforge_tasks()[0]


def write(tmp_path: Path, body: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    return str(path)


def returning(tmp_path: Path, expression: str) -> str:
    """A policy that returns `expression`, with `ids` the arrival order at hand."""
    return write(
        tmp_path,
        "def schedule(txns, oracle):\n"
        "    ids = [t['id'] for t in txns]\n"
        f"    return {expression}\n",
    )


def test_the_generator_is_deterministic_per_seed() -> None:
    spec = TRAIN[3]
    assert make_instance(spec) == make_instance(dict(spec))
    assert make_instance(spec) != make_instance({**spec, "seed": spec["seed"] + 1})
    txns = make_instance(spec)
    assert [t["id"] for t in txns] == list(range(spec["n"]))
    assert all(not set(t["reads"]) & set(t["writes"]) for t in txns)


def test_splits_have_unique_ids_and_disjoint_seeds() -> None:
    specs = [spec for split in SPLITS.values() for spec in split]
    assert [len(SPLITS[s]) for s in ("train", "validation", "test")] == [8, 4, 8]
    assert len({s["id"] for s in specs}) == len(specs)
    assert len({s["seed"] for s in specs}) == len(specs)


def test_the_simulator_serialises_conflicts_and_overlaps_the_rest() -> None:
    txns = [
        {"id": 0, "reads": [], "writes": [1], "duration": 5},
        {"id": 1, "reads": [1], "writes": [], "duration": 3},
        {"id": 2, "reads": [1], "writes": [], "duration": 4},
        {"id": 3, "reads": [2], "writes": [], "duration": 2},
    ]
    sim = simulate(txns, [0, 1, 2, 3])
    assert sim.start == [0.0, 5.0, 5.0, 0.0]  # readers share, after the writer
    assert sim.makespan == 9.0
    assert simulate(txns, [1, 2, 0, 3]).makespan == 9.0  # writer waits for both readers
    oracle = Oracle(footprints(txns), budget_for(4))
    assert oracle.makespan([0, 1, 2, 3]) == 9.0 and oracle.used == 4
    partial = oracle.new_schedule()
    partial.append(1)
    assert partial.finish_if_appended(0) == 8.0 and oracle.used == 6


def test_the_evaluation_is_deterministic(task: Task, tmp_path: Path) -> None:
    path = write(tmp_path, task.seed_files()["policy.py"])
    first, second = evaluate(path, TRAIN), evaluate(path, TRAIN)
    assert first.valid and first.instance_scores == second.instance_scores
    assert set(first.instance_scores or {}) == {spec["id"] for spec in TRAIN}
    assert first.score == second.score
    assert "worst instances" in first.feedback and "vs greedy_sampling" in first.feedback
    assert 200 < len(first.feedback) < 1600


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("ids + [ids[17]]", "txn 17 scheduled twice"),
        ("ids[:-1]", "missing from the schedule"),
        ("ids[:-1] + [999]", "unknown txn id 999"),
        ("[float(i) for i in ids]", "must return a list of ints"),
        ("{'order': ids}", "not a list of ints"),
        ("None", "not a list of ints"),
    ],
)
def test_malformed_schedules_are_rejected(tmp_path: Path, expression: str, reason: str) -> None:
    result = evaluate(returning(tmp_path, expression), SMALL)
    assert result.valid is False
    assert result.reason.startswith("train-00: ") and reason in result.reason


def test_overspending_the_oracle_budget_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "def schedule(txns, oracle):\n"
        "    ids = [t['id'] for t in txns]\n"
        "    while oracle.used <= oracle.budget * 1.2:\n"
        "        oracle.makespan(ids)\n"
        "    return ids\n",
    )
    result = evaluate(path, SMALL)
    assert result.valid is False
    assert result.reason.startswith("train-00: used 1.2") and "x its oracle budget" in result.reason
    assert smoke(path).valid  # the smoke stage judges structure only


def test_running_past_the_wall_clock_cap_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "import time\n\n\ndef schedule(txns, oracle):\n"
        "    time.sleep(2.05)\n"
        "    return [t['id'] for t in txns]\n",
    )
    result = evaluate(path, SMALL[:1])
    assert result.valid is False
    assert result.reason.startswith("train-00: took 2.") and "wall-clock cap" in result.reason


def test_a_policy_that_raises_is_rejected_with_the_instance(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "def schedule(txns, oracle):\n"
        "    if len(txns) == 80:\n"
        "        raise KeyError('boom')\n"
        "    return [t['id'] for t in txns]\n",
    )
    result = evaluate(path, SMALL)
    assert result.valid is False and result.reason == "train-01: policy raised KeyError: 'boom'"


def test_smoke_catches_a_broken_program_and_passes_the_seed(task: Task, tmp_path: Path) -> None:
    assert smoke(write(tmp_path, task.seed_files()["policy.py"], "seed.py")).valid
    bad = smoke(returning(tmp_path, "ids[::2]"))
    assert bad.valid is False and bad.reason.startswith("smoke: ")


def test_each_baseline_scores_its_documented_value(task: Task, tmp_path: Path) -> None:
    assert [b.name for b in task.baselines] == ["greedy_sampling", "fifo", "public_greedy"]
    for baseline in task.baselines:
        path = write(tmp_path, baseline.files["policy.py"], f"{baseline.name}.py")
        for split, documented in baseline.scores.items():
            if split == "public":  # tests/test_public_txn_scheduling.py checks these
                continue
            result = evaluate(path, task.split_instances(split) or [])
            assert result.valid, result.reason
            assert result.score == pytest.approx(documented, abs=1e-9), (baseline.name, split)
    assert task.reference_score == task.baselines[0].scores["train"]


def test_the_stored_baseline_table_is_current() -> None:
    assert compute_table() == load_table()


def test_an_instance_outside_the_table_is_measured_on_the_spot(task: Task, tmp_path: Path) -> None:
    path = write(tmp_path, task.baselines[0].files["policy.py"])
    custom = {**TRAIN[0], "id": "custom", "seed": 99}
    result = evaluate(path, [custom])
    assert result.valid and result.metrics["makespan_ratio"] == 1.0


def test_the_task_is_registered() -> None:
    from evoforge.plugin_manager import registry

    task = registry().tasks()["txn_scheduling"]
    assert task.files[0].name == "policy.py" and task.stages[0].name == "smoke"
    assert task.instances == TRAIN


def test_an_offline_run_stores_per_instance_scores(tmp_path: Path) -> None:
    from evoforge.api import run_task
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    url = f"sqlite:///{tmp_path}/runs.db"
    outcome = run_task("txn_scheduling", db=url, max_evaluations=10, seed=1)
    repo = Repository(open_database(url))
    candidates = repo.evaluated_candidates(outcome.run_id)
    assert candidates
    wanted = {spec["id"] for spec in TRAIN}
    stored = [repo.stored_outcome(c.id) for c in candidates]
    assert any(o is not None and set(o.instance_scores or {}) == wanted for o in stored)
