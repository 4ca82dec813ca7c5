"""spot_scheduling on the public multi-region protocol (ADRS `cant_be_late_multi`).

The leaderboard's published baseline figure is recomputed on all 34 public runs,
through the public multi-region simulator and through the task's `evaluate` (the path
a run takes). The rules are checked on small hand-built jobs, and hostile candidates
check that only what the evaluator re-simulates counts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.public_data import require_public

from evoforge.evaluators.spot_scheduling import public_multi_region
from evoforge.evaluators.spot_scheduling.evaluate import evaluate
from evoforge.evaluators.spot_scheduling.loader import load_policy
from evoforge.evaluators.spot_scheduling.public_multi_region import (
    average_cost,
    multi_job,
    public_instances,
)
from evoforge.evaluators.spot_scheduling.public_multi_simulator import (
    MultiJob,
    leaderboard_score,
    simulate_multi,
    stay_in_first_region,
)
from evoforge.evaluators.spot_scheduling.simulator import ON_DEMAND_PRICE
from evoforge.evaluators.spot_scheduling.workload import SPLITS

HERE = Path(__file__).resolve().parents[1] / "evaluators" / "spot_scheduling"
GREEDY = HERE / "public_multi_greedy.py"
# results/cant_be_late_multi/baseline/results.json in UCB-ADRS/ADRS-Leaderboard.
PUBLISHED_BASELINE_COST = 82.18692369213043
PUBLISHED_BASELINE_SCORE = 64.58


@pytest.fixture(scope="module")
def specs() -> list[dict[str, Any]]:
    require_public(public_multi_region.WINDOWS)
    return public_instances()


@pytest.fixture(scope="module")
def jobs(specs: list[dict[str, Any]]) -> list[MultiJob]:
    return [multi_job(spec) for spec in specs]


def greedy() -> Any:
    namespace: dict[str, Any] = {}
    exec(GREEDY.read_text(), namespace)
    return namespace["decide_multi"]


def write(tmp_path: Path, source: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(source)
    return str(path)


def test_the_public_runs_are_the_leaderboards_six_zone_sets(specs) -> None:
    assert len(specs) == 34 and len({s["id"] for s in specs}) == 34
    assert all(s["protocol"] == "public_multi_region" for s in specs)
    assert Counter(s["scenario"] for s in specs) == {
        "2_zones_same_region": 8,
        "2_regions_east_west": 8,
        "3_regions_diverse": 6,
        "3_zones_same_region": 6,
        "5_regions_high_diversity": 4,
        "all_9_regions": 2,
    }
    nine = [s for s in specs if s["scenario"] == "all_9_regions"][0]
    assert len(set(nine["regions"])) == 9
    # Whole aligned windows of 195 s ticks, one per zone, covering the 52 h deadline.
    for spec in specs:
        assert len(spec["unavailable"]) == len(spec["regions"]) == len(spec["spot_prices"])
        assert {len(w) for w in spec["unavailable"]} == {1107} and spec["gap_s"] == 195
        assert 1107 * 195 >= 52 * 3600
    assert json.loads(json.dumps(specs)) == specs


def test_the_published_baseline_costs_82_19_and_scores_64_58(jobs) -> None:
    decide = greedy()
    cost = average_cost([(job, simulate_multi(job, decide)) for job in jobs])
    assert round(cost, 2) == round(PUBLISHED_BASELINE_COST, 2) == 82.19
    assert cost == pytest.approx(PUBLISHED_BASELINE_COST, abs=1e-9)  # the harness's own float
    assert leaderboard_score(cost, 48.0) == PUBLISHED_BASELINE_SCORE
    # The score is the leaderboard's formula on the single-region anchors.
    assert round(100 * (146.88 - cost) / (146.88 - 48 * 0.9731), 2) == PUBLISHED_BASELINE_SCORE


def test_a_run_through_evaluate_reports_the_published_cost_and_score(specs) -> None:
    result = evaluate(str(GREEDY), specs)
    assert result.valid, result.reason
    assert round(result.metrics["public_multi_cost_usd"], 2) == 82.19
    assert result.score == result.metrics["public_multi_score"] == PUBLISHED_BASELINE_SCORE
    assert result.metrics["scenarios"] == 34 and result.metrics["late_scenarios"] == 0
    assert "$82.19" in result.feedback and "64.58/100" in result.feedback
    assert "all_9_regions: $" in result.feedback


def test_shinkaevolves_published_policy_costs_79_02_and_scores_67_74(specs, jobs) -> None:
    # results/cant_be_late_multi/shinkaevolve/results.json: a policy that keeps beliefs
    # per zone and moves on them, so zone switching and the 195 s clock are exercised.
    path = HERE / "public_multi_hibernation.py"
    namespace: dict[str, Any] = {}
    exec(path.read_text(), namespace)
    decide = namespace["decide_multi"]
    outcomes = [(job, simulate_multi(job, decide)) for job in jobs]
    cost = average_cost(outcomes)
    assert round(cost, 2) == 79.02
    assert cost == pytest.approx(79.02020934317206, abs=1e-9)
    assert leaderboard_score(cost, 48.0) == 67.74
    assert sum(o.region_changes for _, o in outcomes) > 0
    result = evaluate(str(path), specs)  # its beliefs start afresh with every run
    assert result.valid, result.reason
    assert result.metrics["public_multi_cost_usd"] == pytest.approx(cost)
    assert result.score == 67.74


def test_all_on_demand_costs_whole_ticks_of_work_plus_one_restart(jobs) -> None:
    cost = average_cost(
        [(job, simulate_multi(job, lambda s: (s["region"], "on_demand"))) for job in jobs]
    )
    ticks = math.ceil((48 + 0.2) * 3600 / 195)
    assert cost == pytest.approx(ticks * 195 / 3600 * ON_DEMAND_PRICE)
    assert leaderboard_score(cost, 48.0) == 0


def hand_job(zones: list[str], prices: tuple[float, ...] = (1.0, 2.0)) -> MultiJob:
    # 600 s ticks, 1 h of work, 2 h deadline, 0.1 h (360 s) restarts.
    return MultiJob(
        id="hand",
        scenario="hand",
        regions=("a", "b"),
        available=tuple(tuple(flag == "1" for flag in zone) for zone in zones),
        spot_prices=prices,
        gap_s=600.0,
        work_h=1.0,
        deadline_h=2.0,
        overhead_h=0.1,
    )


def test_spot_moves_between_zones_without_a_restart_and_is_priced_at_the_last_zone() -> None:
    # Zone a has spot in ticks 0-2, zone b from tick 2 on. Moving the running spot
    # instance from a to b at tick 2 starts nothing: one 360 s restart in all, so
    # 3600 + 360 s of work fill 7 ticks. All 7 are priced at zone b's spot price.
    job = hand_job(["111" + "0" * 9, "001" + "1" * 9])

    def follow(state: dict[str, Any]) -> tuple[str, str]:
        where = [r for r, up in state["spot_available_by_region"].items() if up]
        return (where[-1], "spot") if where else (state["region"], "idle")

    outcome = simulate_multi(job, follow)
    assert outcome.spot_ticks == 7 and outcome.on_demand_ticks == 0
    assert outcome.region_changes == 1
    assert outcome.cost == pytest.approx(7 * 600 / 3600 * 2.0)
    assert outcome.finish_h == pytest.approx((3600 + 360) / 3600)


def test_spot_in_a_zone_without_it_runs_as_idle_and_the_forced_switch_still_fires() -> None:
    # Never any spot: asking for it idles until the work plus a restart no longer
    # fits in the ticks left (7 ticks of 12), then on demand takes over.
    job = hand_job(["0" * 12, "0" * 12])
    outcome = simulate_multi(job, lambda s: ("b", "spot"))
    assert outcome.spot_ticks == 0 and outcome.on_demand_ticks == 7
    assert outcome.forced_ticks == 7
    assert outcome.cost == pytest.approx(7 * 600 / 3600 * ON_DEMAND_PRICE)
    assert outcome.late_h == 0


def test_a_single_region_decide_stays_in_the_first_zone(specs, jobs, tmp_path) -> None:
    source = "def decide(state):\n    return 'spot' if state['spot_available'] else 'idle'\n"
    result = evaluate(write(tmp_path, source), specs[:4])
    assert result.valid, result.reason
    decide = stay_in_first_region(lambda s: "spot" if s["spot_available"] else "idle")
    expected = average_cost([(job, simulate_multi(job, decide)) for job in jobs[:4]])
    assert result.metrics["public_multi_cost_usd"] == pytest.approx(expected)
    assert result.metrics["region_changes"] == 0


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("('mars-1a', 'spot')", "['mars-1a', 'spot']"),
        ("(0, 'spot')", "(0, 'spot')"),
        ("'spot'", "'spot'"),
        ("(state['region'], 'spot', 0.0)", "('us-east-1a', 'spot', 0.0)"),
        ("(state['region'], 'cheap')", "['us-east-1a', 'cheap']"),
    ],
)
def test_garbage_regions_and_answers_make_the_candidate_invalid(
    specs, tmp_path, answer, shown
) -> None:
    path = write(tmp_path, f"def decide_multi(state):\n    return {answer}\n")
    result = evaluate(path, specs[:2])
    assert not result.valid
    assert result.reason.startswith(f"{specs[0]['id']}: tick 0: decide_multi returned {shown}")


def test_an_exception_or_no_policy_makes_the_candidate_invalid(specs, tmp_path) -> None:
    result = evaluate(write(tmp_path, "def decide_multi(state):\n    return 1 / 0\n"), specs[:2])
    assert not result.valid and "ZeroDivisionError" in result.reason
    result = evaluate(write(tmp_path, "x = 1\n", "empty.py"), specs[:2])
    assert not result.valid and "neither decide_multi" in result.reason


def test_a_policy_reporting_its_own_cost_or_patching_prices_is_charged_what_it_ran(
    specs, jobs, tmp_path
) -> None:
    forger = write(
        tmp_path,
        "import sys\n"
        'print(\'{"score": 100, "public_multi_cost_usd": 0.0}\')\n'
        "for module in list(sys.modules.values()):\n"
        "    for attr in ('ON_DEMAND_PRICE', 'SPOT_PRICE'):\n"
        "        if hasattr(module, attr):\n"
        "            setattr(module, attr, 0.0)\n"
        "cost = 0.0\n"
        "def decide_multi(state):\n"
        "    state['spot_prices'] = {r: 0.0 for r in state['regions']}\n"
        "    state['work_left_h'] = 0.0\n"
        "    return state['region'], 'on_demand'\n",
    )
    result = evaluate(forger, specs[:3])
    assert result.valid, result.reason
    expected = average_cost(
        [(job, simulate_multi(job, lambda s: (s["region"], "on_demand"))) for job in jobs[:3]]
    )
    assert result.metrics["public_multi_cost_usd"] == pytest.approx(expected)
    assert result.score == 0


def test_multi_region_and_other_instances_are_not_scored_together(specs) -> None:
    from evoforge.evaluators.spot_scheduling import public_protocol

    mixed_own = evaluate(str(GREEDY), specs[:2] + SPLITS["train"][:1])
    assert not mixed_own.valid
    assert "2 public multi-region and 1 other instances" in mixed_own.reason
    single = {"protocol": public_protocol.PROTOCOL, "id": "x"}
    mixed_public = evaluate(str(GREEDY), specs[:1] + [single])
    assert not mixed_public.valid and "1 public multi-region and 1 other" in mixed_public.reason


def test_a_malformed_instance_is_refused(specs) -> None:
    bad = dict(specs[0], regions=specs[0]["regions"][:1])
    result = evaluate(str(GREEDY), [bad])
    assert not result.valid and "malformed public instance" in result.reason


def test_the_report_prints_the_multi_region_cost_beside_the_single_region_one(capsys) -> None:
    require_public(public_multi_region.WINDOWS)
    require_public("spot_traces/leaderboard_windows.json")
    assert public_multi_region.main([]) == 0
    out = capsys.readouterr().out
    assert "multi-region:  average cost $82.19, score 64.58 (34 runs)" in out
    assert "single-region: mean cost $119.03, score 28 (1080 scenarios)" in out


def test_the_single_region_public_protocol_is_unchanged() -> None:
    from evoforge.evaluators.spot_scheduling import evoforge_tasks

    (task,) = evoforge_tasks()
    assert task.public_protocol.endswith(".public_protocol:public_instances")
    assert load_policy(HERE / "public_greedy.py") is not None
