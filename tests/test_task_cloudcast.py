"""The `cloudcast` task as a user meets it: workloads, scores, rejections, baselines, a run."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from evoforge.evaluators.cloudcast import HERE, evoforge_tasks
from evoforge.evaluators.cloudcast.baselines import OPTIMUM, measure, stored
from evoforge.evaluators.cloudcast.evaluate import evaluate, smoke
from evoforge.evaluators.cloudcast.regions import REGIONS, price_table
from evoforge.evaluators.cloudcast.simulator import OverlayError, overlay_cost, overlay_edges
from evoforge.evaluators.cloudcast.workload import SPLITS, make_instance
from evoforge.task import Task

TRAIN = SPLITS["train"]
FIRST = TRAIN[:1]


@pytest.fixture(scope="module")
def task() -> Task:
    return evoforge_tasks()[0]


def write(tmp_path: Path, body: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    return str(path)


def returning(tmp_path: Path, expression: str) -> str:
    """A policy returning `expression`, with every argument of broadcast() at hand."""
    return write(
        tmp_path,
        "def broadcast(source, destinations, regions, price_per_gb, throughput_gbps,\n"
        "              volume_gb, required_gbps):\n"
        f"    return {expression}\n",
    )


def test_the_generator_is_deterministic_per_seed() -> None:
    spec = TRAIN[4]
    instance = make_instance(spec)
    assert instance == make_instance(dict(spec))
    assert instance != make_instance({**spec, "seed": spec["seed"] + 1})
    assert len(instance["destinations"]) == spec["n_destinations"]
    assert instance["source"] not in instance["destinations"]
    assert len(set(instance["destinations"])) == len(instance["destinations"])


def test_splits_have_unique_ids_and_disjoint_seeds() -> None:
    specs = [spec for split in SPLITS.values() for spec in split]
    assert [len(SPLITS[s]) for s in ("train", "validation", "test")] == [12, 6, 12]
    assert len({s["id"] for s in specs}) == len(specs)
    assert len({s["seed"] for s in specs}) == len(specs)
    assert {s["n_destinations"] for s in specs} == set(range(3, 11))


def test_the_price_table_follows_the_providers_rules() -> None:
    prices = price_table()
    assert len(REGIONS) == 22 and {p for _, p, _ in REGIONS} == {"aws", "gcp", "azure"}
    assert prices["aws:us-east-1"]["aws:ap-northeast-1"] == 0.02  # AWS bills by source
    assert prices["aws:us-east-1"]["gcp:us-central1"] == 0.09  # leaving a cloud: internet
    assert prices["gcp:europe-west1"]["gcp:europe-west4"] == 0.02
    assert prices["gcp:us-central1"]["gcp:australia-southeast1"] == 0.15
    assert prices["azure:westeurope"]["azure:japaneast"] == 0.05
    assert all(0.0 < p < 0.2 for row in prices.values() for p in row.values())


def test_the_simulator_pays_each_shared_edge_once_and_names_a_slow_link() -> None:
    names = ["aws:us-east-1", "gcp:europe-west1", "gcp:europe-west4"]
    prices = {u: {v: 0.02 if u.startswith("gcp") else 0.09 for v in names if v != u} for u in names}
    limits = {u: {v: 20.0 for v in names if v != u} for u in names}
    instance = {
        "source": names[0],
        "destinations": names[1:],
        "price_per_gb": prices,
        "throughput_gbps": limits,
        "required_gbps": 8.0,
        "volume_gb": 100.0,
    }
    relay = {names[1]: names[:2], names[2]: names}
    edges = overlay_edges(instance, relay)
    assert overlay_cost(instance, edges) == pytest.approx(100 * (0.09 + 0.02))
    limits[names[0]][names[1]] = 5.0
    with pytest.raises(
        OverlayError, match=r"^aws:us-east-1 -> gcp:europe-west1 needs 8\.0 Gbps, limit 5\.0$"
    ):
        overlay_edges(instance, relay)


def test_the_evaluation_is_deterministic(task: Task, tmp_path: Path) -> None:
    path = write(tmp_path, task.seed_files()["policy.py"])
    first, second = evaluate(path, TRAIN), evaluate(path, TRAIN)
    assert first.valid and first.instance_scores == second.instance_scores
    assert first.score == second.score
    assert set(first.instance_scores or {}) == {spec["id"] for spec in TRAIN}
    assert first.metrics["cost_usd"] > 0 and first.metrics["policy_seconds"] >= 0


def test_a_full_training_evaluation_is_fast(task: Task, tmp_path: Path) -> None:
    path = write(tmp_path, task.seed_files()["policy.py"])
    started = time.perf_counter()
    evaluate(path, TRAIN)
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("[[source, d] for d in destinations]", "train-01: broadcast() returned list"),
        ("{d: [source, d] for d in destinations[1:]}", "is missing (no path to it)"),
        ("{d: [source] for d in destinations}", "not reached"),
        ("{d: [d] for d in destinations}", "not at the source"),
        ("{d: [source, 'aws:mars-1', d] for d in destinations}", "unknown region 'aws:mars-1'"),
        ("{d: [source, d, source, d] for d in destinations}", "twice (a cycle)"),
        ("{d: (source, 7) for d in destinations}", "is not a list of region names"),
        ("{d: [] for d in destinations}", "is empty"),
        ("{**{d: [source, d] for d in destinations}, source: [source]}", "not a destination"),
        ("{d: [source, d] for d in destinations} if 1 / 0 else None", "train-01: policy raised"),
    ],
)
def test_a_malformed_answer_is_rejected_with_its_reason(
    tmp_path: Path, expression: str, reason: str
) -> None:
    result = evaluate(returning(tmp_path, expression), FIRST)
    assert result.valid is False and result.score is None
    assert reason in result.reason
    assert result.reason.startswith("train-01: ")


def test_a_link_below_the_required_rate_is_rejected(tmp_path: Path) -> None:
    # Route every destination through the first relay the source cannot feed fast enough;
    # raising the limits in the policy's own copy changes nothing.
    path = write(
        tmp_path,
        "def broadcast(source, destinations, regions, price_per_gb, throughput_gbps,\n"
        "              volume_gb, required_gbps):\n"
        "    slow = [v for v, g in sorted(throughput_gbps[source].items())\n"
        "            if g < required_gbps and v not in destinations][0]\n"
        "    throughput_gbps[source][slow] = 1e9\n"
        "    return {d: [source, slow, d] for d in destinations}\n",
    )
    result = evaluate(path, FIRST)
    assert result.valid is False
    assert re.search(r"^train-01: \S+ -> \S+ needs \d+\.\d Gbps, limit \d+\.\d$", result.reason)


def test_a_policy_that_raises_names_the_error(tmp_path: Path) -> None:
    path = returning(tmp_path, "{}[destinations[0]]")
    result = evaluate(path, FIRST)
    assert result.valid is False
    assert result.reason.startswith("train-01: policy raised KeyError: ")


def test_smoke_passes_the_seed_and_stops_a_broken_program(task: Task, tmp_path: Path) -> None:
    assert smoke(write(tmp_path, task.seed_files()["policy.py"], "seed.py")).valid
    assert smoke(write(tmp_path, "def plan():\n    return {}\n")).reason == (
        "the program defines no broadcast() function"
    )
    assert "smoke: " in smoke(returning(tmp_path, "{}")).reason


def test_each_baseline_scores_its_documented_value(task: Task, tmp_path: Path) -> None:
    assert [b.name for b in task.baselines] == ["shortest_paths", "direct", "greedy_tree"]
    readme = (HERE / "README.md").read_text("utf-8")
    for baseline in task.baselines:
        path = write(tmp_path, baseline.files["policy.py"], f"{baseline.name}.py")
        assert set(baseline.scores) == {"train", "validation", "test", "public"}
        for split in SPLITS:  # public: tests/test_public_runs.py
            documented = baseline.scores[split]
            result = evaluate(path, SPLITS[split])
            assert result.valid, result.reason
            assert result.score == pytest.approx(documented, abs=1e-9)
            assert f"{documented:.4f}" in readme, f"README lacks {baseline.name} {split}"
    assert task.reference_score == 1.0


def test_the_stored_scores_used_in_feedback_are_current() -> None:
    fresh, kept = measure(), stored()
    assert set(fresh) == set(kept)
    for name, data in fresh.items():
        assert data["instances"] == pytest.approx(kept[name]["instances"], abs=1e-9)
        assert data["splits"] == pytest.approx(kept[name]["splits"], abs=1e-9)
    # No baseline beats the exact optimum anywhere: the simulator and the ceiling agree.
    for name, data in kept.items():
        for instance, score in data["instances"].items():
            assert score <= kept[OPTIMUM]["instances"][instance] + 1e-9, (name, instance)


def test_the_feedback_explains_the_worst_instances(task: Task, tmp_path: Path) -> None:
    result = evaluate(write(tmp_path, task.seed_files()["policy.py"]), TRAIN)
    text = result.feedback
    assert 300 <= len(text) <= 2000
    assert "per instance: train-01 " in text and "worst instances:" in text
    assert text.count("\n- train-") == 3
    assert "vs shortest_paths: cheaper on" in text and "greedy_tree" in text
    assert "exact optimum" in text


def test_the_task_is_registered(task: Task) -> None:
    from evoforge.plugin_manager import registry

    registered = registry().tasks()["cloudcast"]
    assert registered.instances == TRAIN and registered.test_instances == SPLITS["test"]
    assert registered.validation_instances == SPLITS["validation"]
    assert [s.name for s in registered.stages] == ["smoke"]
    assert registered.files[0].name == "policy.py" and "EVOLVE-BLOCK-START" in task.files[0].seed


def test_an_offline_run_stores_per_instance_scores(tmp_path: Path) -> None:
    from evoforge.api import run_task
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    url = f"sqlite:///{tmp_path}/runs.db"
    outcome = run_task("cloudcast", db=url, max_evaluations=10, seed=1)
    repo = Repository(open_database(url))
    candidates = repo.evaluated_candidates(outcome.run_id)
    assert candidates
    seed = repo.stored_outcome(candidates[0].id)
    assert set(seed.instance_scores or {}) == {spec["id"] for spec in TRAIN}
    assert outcome.best_score is not None and outcome.best_score >= seed.score
