"""The `spot_scheduling` task as a user meets it: instances, rules, baselines, a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evoforge.evaluators.spot_scheduling import baselines, traces, workload
from evoforge.evaluators.spot_scheduling.evaluate import evaluate, smoke
from evoforge.evaluators.spot_scheduling.fit import fit_folder
from evoforge.evaluators.spot_scheduling.simulator import (
    ON_DEMAND_PRICE,
    SPOT_PRICE,
    normalised_score,
    simulate,
)

PACKAGE = Path(workload.__file__).parent
SEED = PACKAGE / "seed_program.py"
# The shared data sits beside the checkout (`../shared/data`); a clone made elsewhere
# finds it through SPOT_TRACES_DIR or the workspace's own copy.
TRACE_PLACES = [
    *([Path(os.environ["SPOT_TRACES_DIR"])] if os.environ.get("SPOT_TRACES_DIR") else []),
    Path(__file__).resolve().parents[2] / "shared/data/spot_traces",
    Path("/work/shared/data/spot_traces"),
]
TRACES = next((place for place in TRACE_PLACES if place.is_dir()), TRACE_PLACES[0])


def real_traces() -> Path:
    """The public traces; only a run outside CI may go without them."""
    if TRACES.is_dir():
        return TRACES
    if os.environ.get("CI") == "true":
        pytest.fail(f"the spot traces are missing at {TRACES}, and CI requires them")
    pytest.skip(f"no spot traces at {TRACES}")


def write_policy(tmp_path: Path, body: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    return str(path)


def task():  # noqa: ANN201 - evoforge.task.Task
    from evoforge.plugin_manager import registry

    return registry().tasks()["spot_scheduling"]


# --- instances ---------------------------------------------------------------------------


def test_the_generator_is_deterministic_per_seed() -> None:
    spec = workload.SPLITS["train"][3]
    first, again = workload.make_instance(spec), workload.make_instance(dict(spec))
    assert first == again
    assert len(first.available) == round(spec["deadline_h"] * 6)
    other = workload.make_instance({**spec, "seed": spec["seed"] + 1000})
    assert other.available != first.available


def test_the_splits_are_disjoint_and_cover_the_grid() -> None:
    sizes = {split: len(specs) for split, specs in workload.SPLITS.items()}
    assert sizes == {"train": 24, "validation": 12, "test": 24}
    ids = [s["id"] for specs in workload.SPLITS.values() for s in specs]
    seeds = [s["seed"] for specs in workload.SPLITS.values() for s in specs]
    assert len(set(ids)) == len(ids) and len(set(seeds)) == len(seeds)
    for specs in workload.SPLITS.values():
        json.dumps(specs)  # specs travel to the sandbox as JSON
        cells = {(s["deadline_h"], s["overhead_h"]) for s in specs}
        assert len(cells) == len(workload.DEADLINES_H) * len(workload.OVERHEADS_H)


@pytest.mark.parametrize("profile", sorted(workload.PROFILES))
def test_generated_traces_keep_the_fitted_statistics(profile: str) -> None:
    fitted = workload.PROFILES[profile]
    trace = workload.generate_trace(profile, seed=1, ticks=60_000)
    stretches = traces.run_lengths(trace)[1:-1]
    up = [n for available, n in stretches if available]
    down = [n for available, n in stretches if not available]
    assert sum(trace) / len(trace) == pytest.approx(fitted.availability, abs=0.03)
    assert sum(up) / len(up) == pytest.approx(fitted.available_mean, rel=0.15)
    assert sum(down) / len(down) == pytest.approx(fitted.preempted_mean, rel=0.15)


# --- real traces: the loader and the fit ---------------------------------------------------


def test_the_loader_reads_the_real_traces() -> None:
    loaded = traces.load_folder(real_traces())
    assert len(loaded) == 8
    for trace in loaded:
        assert trace.gap_seconds == 600
        assert len(trace.available) == 1781
        assert 0.2 < trace.availability < 0.99


def test_the_shipped_profiles_are_the_fit_of_the_real_traces() -> None:
    fits = {f.name: f for f in fit_folder(real_traces())}
    assert set(fits) == set(workload.PROFILES)
    for name, profile in workload.PROFILES.items():
        fit = fits[name]
        assert profile.availability == pytest.approx(fit.availability, abs=1e-4)
        assert profile.available_mean == pytest.approx(fit.available.mean, abs=1e-3)
        assert profile.available_mu == pytest.approx(fit.available.mu, abs=1e-4)
        assert profile.available_sigma == pytest.approx(fit.available.sigma, abs=1e-4)
        assert profile.preempted_mean == pytest.approx(fit.preempted.mean, abs=1e-3)
        assert profile.preempted_mu == pytest.approx(fit.preempted.mu, abs=1e-4)
        assert profile.preempted_sigma == pytest.approx(fit.preempted.sigma, abs=1e-4)


@pytest.mark.parametrize(
    ("document", "fault"),
    [
        ([0, 1], "expected a JSON object"),
        ({"data": [0, 1]}, "missing the 'metadata' object"),
        ({"metadata": {"gap_seconds": 0}, "data": [0]}, "gap_seconds must be a positive"),
        ({"metadata": {"gap_seconds": 600}, "data": []}, "non-empty list"),
        ({"metadata": {"gap_seconds": 600}, "data": [0, 2]}, "data[1] is 2"),
        ({"metadata": {"gap_seconds": 600}, "data": [0, True]}, "data[1] is True"),
    ],
)
def test_the_loader_rejects_malformed_traces(tmp_path: Path, document: object, fault: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(traces.TraceFormatError, match="bad") as raised:
        traces.load_trace(path)
    assert fault in str(raised.value)


def test_a_folder_of_traces_may_hold_other_json_but_a_broken_trace_still_stops_it(
    tmp_path: Path,
) -> None:
    trace = {"metadata": {"gap_seconds": 600}, "data": [0, 1, 0]}
    (tmp_path / "zone_a.json").write_text(json.dumps(trace), "utf-8")
    # The public folder's window list is JSON, and no trace.
    windows = {"about": "windows", "windows": [{"trace": "zone_a", "start_tick": 0}]}
    (tmp_path / "leaderboard_windows.json").write_text(json.dumps(windows), "utf-8")
    assert [t.name for t in traces.load_folder(tmp_path)] == ["zone_a"]
    (tmp_path / "zone_b.json").write_text(json.dumps({"data": [0, 1]}), "utf-8")
    with pytest.raises(traces.TraceFormatError, match="zone_b: missing the 'metadata'"):
        traces.load_folder(tmp_path)


def test_the_loader_rejects_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(traces.TraceFormatError, match="broken: not valid JSON"):
        traces.load_trace(path)


# --- the simulator's accounting ------------------------------------------------------------


def _flat(available: bool, overhead_h: float = 0.1) -> workload.Instance:
    return workload.Instance(
        id="flat",
        profile="us-west-2a_k80_1",
        deadline_h=52.0,
        overhead_h=overhead_h,
        work_h=48.0,
        available=(available,) * 312,
    )


def test_on_demand_throughout_pays_the_work_and_one_restart() -> None:
    outcome = simulate(_flat(False), lambda state: "on_demand")
    assert outcome.restarts == 1
    assert outcome.cost == pytest.approx((48.0 + 0.1) * ON_DEMAND_PRICE)
    assert outcome.finish_h == pytest.approx(48.1)
    assert outcome.score == pytest.approx(normalised_score((48.1) * ON_DEMAND_PRICE, 48.0))
    assert outcome.score < 0  # worse than the on-demand reference by the overhead


def test_spot_throughout_on_a_calm_trace_scores_nearly_one() -> None:
    outcome = simulate(_flat(True, overhead_h=0.02), lambda state: "spot")
    assert outcome.cost == pytest.approx(48.02 * SPOT_PRICE)
    assert outcome.preemptions == 0
    assert 0.99 < outcome.score < 1.0


# --- evaluation ----------------------------------------------------------------------------


def test_the_evaluation_is_deterministic_and_scores_every_instance() -> None:
    first, second = evaluate(str(SEED), workload.SPLITS["train"]), evaluate(str(SEED))
    assert first.valid and second.valid
    assert first.instance_scores == second.instance_scores
    assert set(first.instance_scores) == {s["id"] for s in workload.SPLITS["train"]}
    assert first.score == pytest.approx(sum(first.instance_scores.values()) / 24)
    assert first.metrics["cost"] > 0 and "runtime_s" in first.metrics


def test_feedback_names_the_worst_instances_and_the_baseline() -> None:
    result = evaluate(str(SEED))
    assert "baseline uniform_progress" in result.feedback
    assert result.feedback.count("\n- ") == 3
    worst = min(result.instance_scores, key=result.instance_scores.__getitem__)
    assert f"- {worst} (" in result.feedback
    assert 300 < len(result.feedback) <= 1600


ALWAYS_SPOT = "def decide(state):\n    return 'spot'\n"
BAD_VALUE = "def decide(state):\n    return 'maybe' if state['tick'] == 3 else 'on_demand'\n"
RAISES = "def decide(state):\n    return 'on_demand' if state['tick'] < 5 else 1 / 0\n"
ALWAYS_IDLE = "def decide(state):\n    return 'idle'\n"
SPOT_OR_IDLE = "def decide(state):\n    return 'spot' if state['spot_available'] else 'idle'\n"
NO_DECIDE = "def choose(state):\n    return 'idle'\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BAD_VALUE, "train-00: tick 3: decide returned 'maybe'"),
        (ALWAYS_SPOT, "chose spot while spot is unavailable"),
        (RAISES, "train-00: policy raised ZeroDivisionError: division by zero (tick 5)"),
        (ALWAYS_IDLE, "train-00: missed the 52 h deadline with 48.00 h of work left"),
        (SPOT_OR_IDLE, "h deadline with "),
        (NO_DECIDE, "the program defines no decide(state) function"),
    ],
)
def test_broken_policies_are_invalid_with_their_reason(
    tmp_path: Path, body: str, reason: str
) -> None:
    result = evaluate(write_policy(tmp_path, body), workload.SPLITS["train"])
    assert result.valid is False
    assert reason in result.reason
    assert result.reason.startswith(("train-", "the program"))


@pytest.mark.parametrize("body", [BAD_VALUE, ALWAYS_SPOT, RAISES, ALWAYS_IDLE, NO_DECIDE])
def test_the_smoke_stage_catches_broken_policies(tmp_path: Path, body: str) -> None:
    result = smoke(write_policy(tmp_path, body))
    assert result.valid is False
    assert result.reason


def test_the_smoke_stage_passes_the_seed() -> None:
    result = smoke(str(SEED))
    assert result.valid and result.score is not None and result.feedback == ""


# --- baselines -----------------------------------------------------------------------------


def test_each_baseline_scores_its_documented_value_on_every_split(tmp_path: Path) -> None:
    shipped = task().baselines
    names = ["uniform_progress", "greedy", "public_greedy", "public_uniform_progress",
             "public_multi_greedy", "public_multi_hibernation"]  # fmt: skip
    assert [b.name for b in shipped] == names
    # The public-only ones are checked on the public protocol (tests/test_public_runs.py).
    for baseline in shipped[:2]:
        path = write_policy(tmp_path, baseline.files["policy.py"], f"{baseline.name}.py")
        for split, specs in workload.SPLITS.items():
            result = evaluate(path, specs)
            assert result.valid, result.reason  # both meet every deadline
            assert result.score == pytest.approx(baseline.scores[split], abs=1e-9)


def test_the_stored_baseline_scores_are_current() -> None:
    computed = baselines.compute_scores()
    stored = baselines.stored_scores()
    assert set(stored) == set(computed) == set(baselines.BASELINE_FILES)
    for name, scores in stored.items():
        assert scores == pytest.approx(computed[name], abs=1e-12)


def test_the_readme_documents_the_baseline_scores() -> None:
    readme = (PACKAGE / "README.md").read_text("utf-8")
    for baseline in task().baselines:
        for split in workload.SPLITS:
            if split in baseline.scores:
                assert f"{baseline.scores[split]:.4f}" in readme, (baseline.name, split)
        if "public" in baseline.scores:  # the leaderboard's whole-number score
            assert f"| {baseline.scores['public']:.0f} |" in readme, baseline.name
        if "public:multi_region" in baseline.scores:
            assert f"{baseline.scores['public:multi_region']:.2f}" in readme, baseline.name


def test_uniform_progress_beats_greedy_and_is_the_reference() -> None:
    spot_task = task()
    scores = {b.name: b.scores for b in spot_task.baselines}
    assert all(scores["uniform_progress"][s] > scores["greedy"][s] for s in workload.SPLITS)
    assert spot_task.reference_score == scores["uniform_progress"]["train"]


# --- the platform --------------------------------------------------------------------------


def test_the_task_is_registered_with_its_splits() -> None:
    spot_task = task()
    assert spot_task.name == "spot_scheduling"
    assert spot_task.instances == workload.SPLITS["train"]
    assert spot_task.validation_instances == workload.SPLITS["validation"]
    assert spot_task.test_instances == workload.SPLITS["test"]
    assert [s.name for s in spot_task.stages] == ["smoke"]
    assert spot_task.files[0].name == "policy.py"
    assert "EVOLVE-BLOCK-START" in spot_task.files[0].seed


def test_an_offline_run_stores_per_instance_scores(tmp_path: Path) -> None:
    from evoforge.api import run_task
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    url = f"sqlite:///{tmp_path}/runs.db"
    outcome = run_task("spot_scheduling", db=url, max_evaluations=10, seed=1)
    assert outcome.summary["evaluations"]["total"] == 10
    repo = Repository(open_database(url))
    candidates = repo.evaluated_candidates(outcome.run_id)
    assert candidates
    seed = next(c for c in candidates if c.kind == "seed")
    stored = repo.stored_outcome(seed.id).instance_scores
    assert set(stored) == {s["id"] for s in workload.SPLITS["train"]}
    assert outcome.summary["best_score"] >= outcome.summary["seed_score"]
