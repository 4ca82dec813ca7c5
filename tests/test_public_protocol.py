"""A task's public protocol in a run: scored at the end like the test split
(`--public`), or searched on directly (`--train-on public`), and reported wherever the
task's own splits are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli
from support.split_task import write_public_split_task, write_split_task

from evoforge.api import run_task


@pytest.fixture
def public_task(tmp_path: Path) -> Path:
    return write_public_split_task(tmp_path)


def expected(weights: list[float], instances: list[dict]) -> float:
    """The split task's score, recomputed: the mean of 1 / (1 + |w - target|)."""
    scores = [1.0 / (1.0 + abs(weights[i["slot"]] - i["target"])) for i in instances]
    return sum(scores) / len(scores)


SEED_WEIGHTS = [1.0] * 6
PUBLIC_TARGETS = [{"slot": s, "target": 1.0 + s} for s in range(6)]


def test_public_is_scored_at_the_end_beside_the_tasks_own_splits(
    public_task: Path, db_url: str, tmp_path: Path
) -> None:
    summary = cli_json(
        "run", str(public_task), "--public", "--max-evaluations", "6", "--seed", "1",
        "--db", db_url,
    )  # fmt: skip
    shown = cli_json("show", summary["run_id"], "--db", db_url)
    report = shown["generalization"]
    assert report["splits"] == ["train", "validation", "test", "public"]
    seed_row = next(row for row in report["rows"] if "seed" in row["roles"])
    assert seed_row["public"] == pytest.approx(expected(SEED_WEIGHTS, PUBLIC_TARGETS))
    best_row = next(row for row in report["rows"] if "best on train" in row["roles"])
    assert best_row["public"] is not None
    assert seed_row["public_metrics"] == {"public_cost_usd": 115.0, "late_scenarios": 0}
    text = run_cli("show", summary["run_id"], "--db", db_url).stdout
    assert "public" in text.split("generalization", 1)[1]
    units = text.split("public protocol, in its own units:", 1)[1]
    assert f"{seed_row['candidate_id']} (seed" in units and "public_cost_usd 115" in units
    # The exported best carries its public score beside its own splits'.
    out = tmp_path / "export"
    assert run_cli("export", summary["run_id"], "--db", db_url, "--out", str(out)).returncode == 0
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["generalization"]["splits"][-1] == "public"
    exported = {c["candidate_id"]: c for c in metadata["candidates"]}
    assert exported[best_row["candidate_id"]]["split_scores"]["public"] == best_row["public"]


def test_public_is_scored_by_default_and_no_public_skips_it(public_task: Path, db_url: str) -> None:
    by_default = run_task(public_task, db=db_url, max_evaluations=4, seed=1)
    shown = cli_json("show", by_default.run_id, "--db", db_url)
    assert shown["generalization"]["splits"][-1] == "public"
    skipped = cli_json(
        "run", str(public_task), "--no-public", "--max-evaluations", "4", "--db", db_url
    )
    shown = cli_json("show", skipped["run_id"], "--db", db_url)
    assert "public" not in shown["generalization"]["splits"]


def test_train_on_public_searches_on_the_public_instances(
    public_task: Path, db_url: str, tmp_path: Path
) -> None:
    summary = cli_json(
        "run", str(public_task), "--train-on", "public", "--max-evaluations", "6",
        "--seed", "1", "--db", db_url,
    )  # fmt: skip
    assert summary["seed_score"] == pytest.approx(expected(SEED_WEIGHTS, PUBLIC_TARGETS))
    shown = cli_json("show", summary["run_id"], "--db", db_url)
    # The task's own held-out splits are on another scale: set aside, not mixed in.
    assert shown["generalization"]["splits"] == ["train"]
    out = tmp_path / "export"
    assert run_cli("export", summary["run_id"], "--db", db_url, "--out", str(out)).returncode == 0
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["run"]["trained_on"] == shown["trained_on"] == "public"
    assert "the public protocol" in run_cli("show", summary["run_id"], "--db", db_url).stdout


def test_a_task_without_a_public_protocol_refuses_in_one_line(tmp_path: Path, db_url: str) -> None:
    folder = write_split_task(tmp_path)
    for flags in (["--public"], ["--train-on", "public"]):
        result = run_cli("run", str(folder), *flags, "--max-evaluations", "2", "--db", db_url)
        assert result.returncode == 2, result.stderr
        assert "has no public protocol" in result.stderr and "Traceback" not in result.stderr
    assert cli_json("runs", "--db", db_url) == []  # refused before anything was stored


def test_missing_public_data_names_the_variable_to_set(
    public_task: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (public_task / "public.py").write_text(
        "from evoforge.public_data import public_file\n\n"
        "def public_instances():\n"
        "    public_file('no-such-benchmark/cases.json')\n"
    )
    result = run_cli("run", str(public_task), "--public", "--max-evaluations", "2", "--db", db_url)
    assert result.returncode == 2
    assert "EVOFORGE_PUBLIC_DATA" in result.stderr and "Traceback" not in result.stderr
    # Not asked for by name: a machine without the data runs as before, without the split.
    summary = cli_json("run", str(public_task), "--max-evaluations", "2", "--db", db_url)
    shown = cli_json("show", summary["run_id"], "--db", db_url)
    assert "public" not in shown["generalization"]["splits"]
