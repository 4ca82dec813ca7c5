"""spot_scheduling on the public Can't Be Late protocol (ADRS leaderboard, single region).

The published figures are recomputed on all 1,080 public scenarios through the public
simulator, and the greedy seed's once more through the task's `evaluate`, the path a
run takes. Hostile candidates check that only what the evaluator re-simulates counts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.public_data import require_public

from evoforge.evaluators.spot_scheduling import public_protocol
from evoforge.evaluators.spot_scheduling.evaluate import evaluate
from evoforge.evaluators.spot_scheduling.loader import load_policy
from evoforge.evaluators.spot_scheduling.public_protocol import public_instance, public_instances
from evoforge.evaluators.spot_scheduling.public_scoring import leaderboard_score
from evoforge.evaluators.spot_scheduling.public_simulator import simulate_public
from evoforge.evaluators.spot_scheduling.simulator import ON_DEMAND_PRICE, SPOT_PRICE, Policy
from evoforge.evaluators.spot_scheduling.workload import SPLITS, Instance

HERE = Path(__file__).resolve().parents[1] / "evaluators" / "spot_scheduling"
TICK_H = 1 / 6


@pytest.fixture(scope="module")
def specs() -> list[dict[str, Any]]:
    require_public(public_protocol.WINDOWS)
    return public_instances()


@pytest.fixture(scope="module")
def jobs(specs: list[dict[str, Any]]) -> list[Instance]:
    return [public_instance(spec) for spec in specs]


def mean_cost(jobs: list[Instance], decide: Policy) -> tuple[float, int]:
    outcomes = [simulate_public(job, decide) for job in jobs]
    return sum(o.cost for o in outcomes) / len(outcomes), sum(o.late_h > 0 for o in outcomes)


def write(tmp_path: Path, source: str) -> str:
    path = tmp_path / "policy.py"
    path.write_text(source)
    return str(path)


def test_the_public_scenarios_are_180_windows_times_the_six_job_settings(specs) -> None:
    assert len(specs) == 1080 and len({s["id"] for s in specs}) == 1080
    assert all(s["protocol"] == "public" for s in specs)
    assert Counter((s["deadline_h"], s["overhead_h"]) for s in specs) == {
        (d, o): 180 for d in (52.0, 70.0) for o in (0.02, 0.05, 0.10)
    }
    assert Counter(s["trace"] for s in specs) == {
        t: 180
        for t in (
            "us-west-2a_k80_8",
            "us-west-2b_k80_1",
            "us-west-2b_k80_8",
            "us-west-2a_v100_1",
            "us-west-2a_v100_8",
            "us-west-2b_v100_1",
        )
    }
    # Plain data, whole windows of the raw traces (1 = spot unavailable, as there).
    windows = json.loads(require_public(public_protocol.WINDOWS).read_text())["windows"]
    first = windows[0]
    raw = json.loads(require_public(f"spot_traces/{first['trace']}.json").read_text())["data"]
    cut = "".join(str(tick) for tick in raw[first["start_tick"] : first["end_tick"]])
    assert specs[0]["unavailable"] == cut and len(cut) == 554
    assert json.loads(json.dumps(specs)) == specs


def test_the_published_greedy_seed_costs_119_03(jobs) -> None:
    cost, late = mean_cost(jobs, load_policy(HERE / "public_greedy.py"))
    assert round(cost, 2) == 119.03
    assert round(cost, 4) == 119.0345  # the public harness's own figure, to the cent and beyond
    assert late == 0


def test_the_public_uniform_progress_costs_101_68(jobs) -> None:
    cost, late = mean_cost(jobs, load_policy(HERE / "public_uniform_progress.py"))
    assert round(cost, 2) == 101.68
    assert late == 0
    assert leaderboard_score(cost) == round(100 * (146.88 - cost) / (146.88 - 48 * 0.9731))


def test_on_demand_only_costs_147_39_one_restart_and_a_tick_billed_in_full(jobs) -> None:
    cost, late = mean_cost(jobs, lambda state: "on_demand")
    # 48 h of work plus one restart fill 289 ticks, every one billed whole.
    assert round(cost, 2) == round(289 * TICK_H * ON_DEMAND_PRICE, 2) == 147.39
    assert late == 0
    assert leaderboard_score(cost) == 0  # above the on-demand anchor: clipped


def test_a_run_through_evaluate_reports_the_public_cost_and_leaderboard_score(specs) -> None:
    result = evaluate(str(HERE / "public_greedy.py"), specs)
    assert result.valid, result.reason
    cost = result.metrics["public_cost_usd"]
    assert round(cost, 2) == 119.03
    assert result.score == result.metrics["public_score"] == leaderboard_score(cost) == 28
    assert result.metrics["late_scenarios"] == 0 and result.metrics["scenarios"] == 1080
    assert "$119.03" in result.feedback and "score 28/100" in result.feedback
    assert len(result.instance_scores) == 1080


def test_late_runs_the_public_harness_lets_pass_are_counted_not_hidden(jobs, specs) -> None:
    # The task's own greedy keeps spot to the last tick of slack; under the public
    # forced switch a preemption then costs an idle tick and the run ends late.
    decide = load_policy(HERE / "baseline_greedy.py")
    outcomes = [simulate_public(job, decide) for job in jobs]
    late = [o.late_h for o in outcomes if o.late_h > 0]
    assert late and max(late) <= TICK_H + 1e-9
    sample = [spec for spec, o in zip(specs, outcomes, strict=True) if o.late_h > 0][:3]
    result = evaluate(str(HERE / "baseline_greedy.py"), sample)
    assert result.valid and result.metrics["late_scenarios"] == 3
    assert "Late scenarios (the public harness does not penalise them): 3" in result.feedback


def test_a_preemption_at_the_forced_switch_idles_a_tick_and_every_tick_is_billed_whole() -> None:
    # 1 h of work, 2 h deadline, 0.1 h restarts; spot when available, else idle.
    # Ticks 0-4 spot (240 + 4 x 600 s), 6 and 9 spot restarts (240 s each): 480 s left
    # at tick 10 with 2 ticks to go, so the forced switch fires while spot ran in the
    # previous tick; it keeps "spot", which is preempted and runs as idle. Tick 11
    # starts on demand (360 s overhead, 240 s work), tick 12 finishes 240 s in: 4
    # minutes late, and that last tick is billed in full.
    flags = "111110100101" + "1" * 6
    job = Instance("hand", "hand", 2.0, 0.1, 1.0, tuple(f == "1" for f in flags))
    outcome = simulate_public(job, lambda s: "spot" if s["spot_available"] else "idle")
    assert outcome.finish_h == pytest.approx(2 + 4 / 60)
    assert outcome.late_h == pytest.approx(4 / 60)
    assert outcome.cost == pytest.approx(7 * TICK_H * SPOT_PRICE + 2 * TICK_H * ON_DEMAND_PRICE)


def test_spot_while_unavailable_runs_as_idle_under_the_public_rules(specs, tmp_path) -> None:
    result = evaluate(write(tmp_path, "def decide(state):\n    return 'spot'\n"), specs[:40])
    assert result.valid, result.reason
    assert result.metrics["public_cost_usd"] < 147


def test_public_and_own_instances_are_not_scored_together(specs) -> None:
    result = evaluate(str(HERE / "public_greedy.py"), specs[:2] + SPLITS["train"][:1])
    assert not result.valid
    assert "2 public and 1 own instances" in result.reason


def test_garbage_and_exceptions_make_the_candidate_invalid(specs, tmp_path) -> None:
    garbage = write(
        tmp_path, "def decide(state):\n    return 'maybe' if state['tick'] else 'idle'\n"
    )
    result = evaluate(garbage, specs[:5])
    assert not result.valid
    assert result.reason == f"{specs[0]['id']}: tick 1: decide returned 'maybe'; " + (
        "expected 'spot', 'on_demand' or 'idle'"
    )
    raising = tmp_path / "raising.py"
    raising.write_text("def decide(state):\n    return 1 / 0\n")
    result = evaluate(str(raising), specs[:5])
    assert not result.valid and "ZeroDivisionError" in result.reason


def test_a_policy_patching_its_prices_or_printing_a_result_is_charged_what_it_ran(
    specs, jobs, tmp_path
) -> None:
    forger = write(
        tmp_path,
        "import sys\n"
        'print(\'{"score": 100, "public_cost_usd": 0.0, "late_scenarios": 0}\')\n'
        "# The policy's process holds the task's simulators: zero every price there.\n"
        "for module in list(sys.modules.values()):\n"
        "    for attr in ('ON_DEMAND_PRICE', 'SPOT_PRICE', 'OD_ANCHOR', 'SPOT_ANCHOR'):\n"
        "        if hasattr(module, attr):\n"
        "            setattr(module, attr, 0.0)\n"
        "def decide(state):\n"
        "    state['work_left_h'] = 0.0\n"
        "    return 'on_demand'\n",
    )
    result = evaluate(forger, specs[:20])
    assert result.valid, result.reason
    expected, _ = mean_cost(jobs[:20], lambda state: "on_demand")
    assert result.metrics["public_cost_usd"] == pytest.approx(expected)
    assert result.score == 0


def test_the_task_names_its_public_protocol() -> None:
    from evoforge.evaluators.spot_scheduling import evoforge_tasks

    (task,) = evoforge_tasks()
    module, _, name = task.public_protocol.partition(":")
    assert (module, name) == (
        "evoforge.evaluators.spot_scheduling.public_protocol",
        "public_instances",
    )
