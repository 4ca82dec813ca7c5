"""The ADRS tasks on their public protocols, end to end: every documented public
figure is what the task's own evaluator measures on the public instances, and a short
offline run searches on the protocol (`--train-on public`) or reports it (`--public`)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from cli_helpers import cli_json
from support.public_data import require_public

from evoforge.api import resolve_task
from evoforge.public_protocol import load_public_instances, protocols

PUBLIC_TASKS = {
    "spot_scheduling": "spot_traces/leaderboard_windows.json",
    "txn_scheduling": "adrs_public/txn_workloads.json",
    "cloudcast": "adrs_public/cloudcast/config",
    "model_placement": "adrs_public/prism_cases.json",
}
"""Each task with a public protocol, and the public data it reads."""

REFERENCE = {
    "spot_scheduling": ("public_greedy", 28.0),
    "spot_scheduling public:multi_region": ("public_multi_greedy", 64.58),
    "txn_scheduling": ("public_greedy", 38.017651052274275),
    "cloudcast": ("shortest_paths", 26.737131608352556),
    "model_placement": ("greedy", 60.817400988386495),
}
"""The published baseline a public search is read against, and its public score."""


@pytest.mark.parametrize("name", sorted(PUBLIC_TASKS))
def test_documented_public_figures_are_what_the_evaluator_measures(
    name: str, tmp_path: Path
) -> None:
    require_public(PUBLIC_TASKS[name])
    if name == "spot_scheduling":
        require_public("spot_traces_multi/windows.tar.gz")
    task = resolve_task(name)
    module, _, function = task.evaluate.partition(":")
    evaluate = getattr(importlib.import_module(module), function)
    offered = protocols(task)
    documented = [
        (baseline, protocol)
        for baseline in task.baselines
        for protocol in baseline.scores
        if protocol in offered
    ]
    assert {protocol for _, protocol in documented} == set(offered), name
    instances = {protocol: load_public_instances(task, protocol) for protocol in offered}
    for baseline, protocol in documented:
        folder = tmp_path / baseline.name
        folder.mkdir(exist_ok=True)
        for file, text in baseline.files.items():
            (folder / file).write_text(text)
        result = evaluate(str(folder / task.primary), instances[protocol])
        assert result.valid, (baseline.name, result.reason)
        documented_score = baseline.scores[protocol]
        assert result.score == pytest.approx(documented_score, abs=1e-9), baseline.name


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_train_on_public_runs_offline_against_the_published_baseline(
    case: str, db_url: str
) -> None:
    name, _, protocol = case.partition(" ")
    protocol = protocol or "public"
    require_public(PUBLIC_TASKS[name])
    if protocol == "public:multi_region":
        require_public("spot_traces_multi/windows.tar.gz")
    summary = cli_json(
        "run", name, "--train-on", protocol, "--max-evaluations", "3", "--seed", "1",
        "--db", db_url,
    )  # fmt: skip
    assert summary["trained_on"] == protocol
    assert summary["evaluations"]["ok"] == 3, summary["failures"]
    assert 0.0 <= summary["best_score"] <= 100.0  # the leaderboard's 0..100 score
    assert summary["reference_score"] == pytest.approx(REFERENCE[case][1])
    shown = cli_json("show", summary["run_id"], "--db", db_url)
    baselines = {b["name"]: b["train"] for b in shown["generalization"]["baselines"]}
    assert baselines[REFERENCE[case][0]] == pytest.approx(REFERENCE[case][1])


def test_public_scored_at_the_end_reports_only_the_public_figures(db_url: str) -> None:
    require_public(PUBLIC_TASKS["model_placement"])
    summary = cli_json(
        "run", "model_placement", "--public", "--max-evaluations", "3", "--seed", "1",
        "--db", db_url,
    )  # fmt: skip
    report = cli_json("show", summary["run_id"], "--db", db_url)["generalization"]
    assert report["splits"] == ["train", "validation", "test", "public"]
    seed = next(row for row in report["rows"] if "seed" in row["roles"])
    assert 0.0 <= seed["public"] <= 100.0
    # Not the smoke stage's figures in the task's own units: only the public protocol's.
    assert "public_avg_max_kv_pressure" in seed["public_metrics"]
    assert "max_pressure" not in seed["public_metrics"]
    greedy = next(b for b in report["baselines"] if b["name"] == "greedy")
    assert greedy["public"] == pytest.approx(REFERENCE["model_placement"][1])
