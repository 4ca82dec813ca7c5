"""txn_scheduling on the public ADRS protocol: the public workloads, per-operation locks,
the leaderboard's 0..100 score, and only re-simulated orders counting."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from support.public_data import require_public

from evoforge.evaluators.loading import load_program
from evoforge.evaluators.txn_scheduling import evoforge_tasks
from evoforge.evaluators.txn_scheduling.evaluate import evaluate
from evoforge.evaluators.txn_scheduling.oracle import Oracle, budget_for
from evoforge.evaluators.txn_scheduling.public_evaluate import public_greedy_totals, scale
from evoforge.evaluators.txn_scheduling.public_protocol import public_instances, public_txns
from evoforge.evaluators.txn_scheduling.public_simulator import (
    PublicScheduleState,
    parse_ops,
    public_footprints,
    public_makespan,
)
from evoforge.evaluators.txn_scheduling.runner import Run, run_policy
from evoforge.evaluators.txn_scheduling.simulator import footprints, simulate
from evoforge.evaluators.txn_scheduling.workload import SPLITS

HERE = Path(__file__).resolve().parents[1] / "evaluators" / "txn_scheduling"
PUBLISHED_SEQUENTIAL = 537
PUBLISHED_FULL_MARKS = 95.1
PUBLISHED_GREEDY = 352


@pytest.fixture(scope="module")
def instances() -> list[dict[str, Any]]:
    require_public("adrs_public/txn_workloads.json")
    return public_instances()


def write(tmp_path: Path, body: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    return str(path)


def leaderboard_score(makespan: float) -> float:
    """The published formula, written out independently of the code under test."""
    span = PUBLISHED_SEQUENTIAL - PUBLISHED_FULL_MARKS
    return max(0.0, min(100.0, 100 * (PUBLISHED_SEQUENTIAL - makespan) / span))


def test_the_instances_are_plain_data_with_every_operation(instances: list[dict]) -> None:
    assert [inst["id"] for inst in instances] == ["workload_1", "workload_2", "workload_3"]
    assert all(inst["protocol"] == "public" and inst["n"] == 100 for inst in instances)
    assert json.loads(json.dumps(instances)) == instances  # what travels to the sandbox
    raw = json.loads(require_public("adrs_public/txn_workloads.json").read_text("utf-8"))
    assert instances[0]["ops"][0] == raw["workload_1"]["txn0"].split(" ")
    txn = public_txns(instances[1])[0]  # "r-3 r-40 w-40 *..." : 40 read and written
    assert txn["reads"] == [3] and txn["writes"] == [40] and txn["duration"] == 21


def test_each_operation_locks_its_key_for_one_tick() -> None:
    fp = [
        parse_ops(["w-1", "*", "*"]),  # writes key 1 at its first tick, lasts 3
        parse_ops(["*", "w-1"]),  # its write may follow at tick 2: overlaps txn 0
        parse_ops(["r-1", "*"]),  # reads after the last write (tick 2): starts at 3
        parse_ops(["r-1"]),  # readers share: also after tick 2 only
        parse_ops(["r-9", "w-9"]),  # a key of its own: starts at 1
    ]
    state = PublicScheduleState(fp)
    assert [state.append(i) for i in range(5)] == [3, 2, 4, 3, 2]
    assert state.makespan == 4 == public_makespan(fp, [0, 1, 2, 3, 4])
    # The same transactions under the task's own model wait for whole predecessors.
    own = [
        {"id": 0, "reads": [], "writes": [1], "duration": 3},
        {"id": 1, "reads": [], "writes": [1], "duration": 2},
    ]
    assert simulate(own, [0, 1]).makespan == 5 and public_makespan(fp[:2], [0, 1]) == 3
    with pytest.raises(ValueError, match="unknown operation"):
        parse_ops(["x-1"])


def test_sequential_orders_give_the_published_537_and_95_1(instances: list[dict]) -> None:
    fps = [public_footprints(public_txns(inst)) for inst in instances]
    total = sum(public_makespan(fp, list(range(len(fp)))) for fp in fps)
    longest = sum(max(length for _, length in fp) for fp in fps)
    assert total == PUBLISHED_SEQUENTIAL and longest == 16 + 21 + 9
    whole = scale(instances)
    assert (whole.sequential, round(whole.effective_optimal, 1)) == (537, PUBLISHED_FULL_MARKS)
    assert whole.score(537) == 0.0 and whole.score(95.1) == pytest.approx(100.0)


def test_fifo_through_evaluate_is_the_sequential_537_and_scores_zero(
    instances: list[dict],
) -> None:
    result = evaluate(str(HERE / "baseline_fifo.py"), instances)
    assert result.valid, result.reason
    assert result.metrics["public_makespan"] == PUBLISHED_SEQUENTIAL
    assert result.metrics["public_sequential_makespan"] == PUBLISHED_SEQUENTIAL
    assert result.metrics["public_effective_optimal"] == pytest.approx(PUBLISHED_FULL_MARKS)
    assert result.score == 0.0 and "total makespan 537" in result.feedback


def test_the_public_greedy_baseline_over_20_seeds_brackets_the_published_352(
    instances: list[dict],
) -> None:
    totals = public_greedy_totals(instances, list(range(20)))
    assert min(totals) <= PUBLISHED_GREEDY <= max(totals)
    # The distribution the README documents.
    assert (min(totals), statistics.median(totals), max(totals)) == (345, 366.5, 389)
    assert statistics.mean(totals) == 366.75 and totals[0] == 369


def test_the_registered_public_greedy_score_is_what_evaluate_gives(
    instances: list[dict],
) -> None:
    baseline = next(b for b in evoforge_tasks()[0].baselines if b.name == "public_greedy")
    result = evaluate(str(HERE / "baseline_public_greedy.py"), instances)
    assert result.valid, result.reason
    makespan = result.metrics["public_makespan"]
    assert result.score == pytest.approx(leaderboard_score(makespan), abs=1e-9)
    assert result.score == pytest.approx(baseline.scores["public"], abs=1e-9)
    assert makespan == public_greedy_totals(instances, [0])[0]


def test_the_two_models_rank_schedules_in_opposite_orders(instances: list[dict]) -> None:
    txns = public_txns(instances[2])  # workload_3
    arrival = list(range(len(txns)))
    greedy = run_policy(load_program(HERE / "baseline_greedy_sampling.py"), txns)
    assert isinstance(greedy, Run)
    fp = public_footprints(txns)
    assert public_makespan(fp, arrival) < public_makespan(fp, greedy.order)
    assert simulate(txns, arrival).makespan > simulate(txns, greedy.order).makespan
    # On workload_1 every pair conflicts: the own model serialises any order fully,
    # while the public model's makespans still differ widely between orders.
    first = public_txns(instances[0])
    total = sum(t["duration"] for t in first)
    one_fp = public_footprints(first)
    spans = set()
    for order in (
        list(range(100)),
        list(range(99, -1, -1)),
        list(range(0, 100, 2)) + list(range(1, 100, 2)),
    ):
        assert simulate(first, order).makespan == total
        spans.add(public_makespan(one_fp, order))
    assert len(spans) > 1 and max(spans) < total


def test_the_oracle_on_public_instances_answers_the_public_model(instances: list[dict]) -> None:
    txns = public_txns(instances[0])
    fp = public_footprints(txns)
    oracle = Oracle(fp, budget_for(len(txns)), PublicScheduleState)
    order = list(range(99, -1, -1))
    assert oracle.makespan(order) == public_makespan(fp, order) and oracle.used == 100
    assert oracle.makespan(order) != Oracle(footprints(txns), budget_for(100)).makespan(order)


def test_a_claimed_makespan_or_a_patched_simulator_counts_for_nothing(
    instances: list[dict], tmp_path: Path
) -> None:
    claims = write(
        tmp_path,
        "def schedule(txns, oracle):\n"
        "    return {'makespan': 1, 'order': list(range(len(txns)))}\n",
    )
    result = evaluate(claims, instances)
    assert result.valid is False
    assert result.reason == "workload_1: schedule() returned dict, not a list of ints"
    patcher = write(
        tmp_path,
        "import evoforge.evaluators.txn_scheduling.public_simulator as ps\n"
        "import evoforge.evaluators.txn_scheduling.runner as runner\n"
        "ps.public_makespan = runner.public_makespan = lambda fp, order: 0\n"
        "def schedule(txns, oracle):\n    return [t['id'] for t in txns]\n",
        "patcher.py",
    )
    result = evaluate(patcher, instances)
    assert result.valid and result.metrics["public_makespan"] == PUBLISHED_SEQUENTIAL
    assert result.score == 0.0


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("ids + [ids[5]]", "workload_1: txn 5 scheduled twice"),
        ("ids[:-1]", "workload_1: txn 99 missing from the schedule (99 of 100 given)"),
        ("[str(i) for i in ids]", "workload_1: schedule() must return a list of ints"),
    ],
)
def test_garbage_orders_are_rejected_on_the_public_path(
    instances: list[dict], tmp_path: Path, expression: str, reason: str
) -> None:
    path = write(
        tmp_path,
        "def schedule(txns, oracle):\n"
        "    ids = [t['id'] for t in txns]\n"
        f"    return {expression}\n",
    )
    result = evaluate(path, instances)
    assert result.valid is False and result.reason.startswith(reason)


def test_the_oracle_budget_still_binds_on_the_public_path(
    instances: list[dict], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "def schedule(txns, oracle):\n"
        "    ids = [t['id'] for t in txns]\n"
        "    while oracle.used <= oracle.budget * 1.1:\n"
        "        oracle.makespan(ids)\n"
        "    return ids\n",
    )
    result = evaluate(path, instances[:1])
    assert result.valid is False
    assert result.reason.startswith("workload_1: used 1.1") and "oracle budget" in result.reason


def test_public_and_own_instances_in_one_call_are_refused(instances: list[dict]) -> None:
    result = evaluate(str(HERE / "baseline_fifo.py"), [instances[0], SPLITS["train"][0]])
    assert result.valid is False and "public and own instances" in result.reason


def test_the_task_names_its_public_protocol(instances: list[dict]) -> None:
    from evoforge.public_protocol import load_public_instances

    task = evoforge_tasks()[0]
    assert load_public_instances(task) == instances
