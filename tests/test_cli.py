"""The command line as scripts use it: forms, JSON output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import cli_json, run_cli, run_piped


def test_tasks_lists_the_builtin_circle_packing_task() -> None:
    result = run_cli("tasks")
    assert result.returncode == 0, result.stderr
    assert "circle_packing" in result.stdout
    listed = cli_json("tasks")
    assert listed["circle_packing"]["reference_score"] == 2.635


def test_plugins_shows_builtins_registered_through_entry_points() -> None:
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    for name in ("mutate", "process", "islands", "greedy", "best-of-n", "local"):
        assert name in result.stdout


def test_run_show_runs_and_export_work_together(tmp_path: Path, db_url: str) -> None:
    summary = cli_json(
        "run",
        "circle_packing",
        "--max-evaluations",
        "12",
        "--seed",
        "3",
        "--eval-timeout",
        "30",
        "--db",
        db_url,
    )
    run_id = summary["run_id"]
    assert summary["status"] == "finished"
    assert summary["evaluations"]["total"] == 12
    assert summary["seed_score"] is not None
    assert summary["best_score"] >= summary["seed_score"]

    shown = cli_json("show", run_id, "--db", db_url)
    assert shown["run_id"] == run_id
    assert shown["evaluations"]["total"] == 12
    assert set(shown["evaluations"]) >= {"ok", "invalid", "failed", "timeout", "crashed", "total"}

    human = run_cli("show", run_id, "--db", db_url)
    assert human.returncode == 0, human.stderr
    assert summary["best_candidate_id"] in human.stdout and "best candidates" in human.stdout

    listed = cli_json("runs", "--db", db_url)
    assert [r["run_id"] for r in listed] == [run_id]

    out = tmp_path / "export"
    result = run_cli("export", run_id, "--out", str(out), "--top", "2", "--db", db_url)
    assert result.returncode == 0, result.stderr
    metadata = json.loads((out / "metadata.json").read_text())
    best = metadata["candidates"][0]
    assert best["score"] == summary["best_score"]
    assert (out / best["folder"] / "program.py").read_text().strip()
    lineage = json.loads((out / "lineage.json").read_text())
    assert len(lineage["nodes"]) >= 12


def test_unknown_task_is_one_clear_line_and_exit_code_2(db_url: str) -> None:
    result = run_cli("run", "no_such_task", "--db", db_url)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no_such_task" in lines[0] and "circle_packing" in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_run_id_is_a_clear_error(db_url: str) -> None:
    result = run_cli("show", "deadbeef", "--db", db_url)
    assert result.returncode == 2
    assert "deadbeef" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_database_url_names_the_db_option() -> None:
    result = run_cli("runs", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.returncode == 2
    assert "--db" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_long_errors_stay_on_one_line_when_piped(db_url: str) -> None:
    result = run_cli("show", "abc", "--db", "sqlite:////nonexistent/folder/for/evoforge/store.db")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_commands_on_a_missing_sqlite_file_create_no_store(tmp_path: Path) -> None:
    store = tmp_path / "typo.db"
    db = f"sqlite:///{store}"
    listed = run_cli("runs", "--db", db)
    assert listed.returncode == 0, listed.stderr
    assert f"no evoforge store at {db}" in listed.stdout
    assert cli_json("runs", "--db", db) == []
    for command in (
        ("show", "abc123"),
        ("resume", "abc123"),
        ("export", "abc123", "--out", str(tmp_path / "out")),
        ("kernels", "report", "abc123"),
    ):
        refused = run_cli(*command, "--db", db)
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert "no evoforge store" in refused.stderr and "--db" in refused.stderr, command
        assert "Traceback" not in refused.stderr
    assert not store.exists() and not (tmp_path / "out").exists()


def test_run_config_file_sets_options_and_flags_override_it(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "run.toml"
    config.write_text('strategy = "greedy"\nevaluation_slots = 1\n[budget]\nmax_evaluations = 4\n')
    summary = cli_json("run", "circle_packing", "--config", str(config), "--db", db_url)
    assert summary["evaluations"]["total"] == 4
    summary = cli_json(
        "run", "circle_packing", "--config", str(config), "--max-evaluations", "3", "--db", db_url
    )
    assert summary["evaluations"]["total"] == 3


def test_misspelled_config_option_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "run.toml"
    config.write_text('stratgy = "greedy"\n')
    result = run_cli("run", "circle_packing", "--config", str(config), "--db", db_url)
    assert result.returncode == 2
    assert "stratgy" in result.stderr and "Traceback" not in result.stderr


def test_help_shows_flags_without_a_value_to_pass() -> None:
    for command in ("show", "runs", "tasks", "run"):
        result = run_cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "--json" in result.stdout
        assert "<bool>" not in result.stdout, f"{command} --help labels a flag as taking a bool"


def test_piped_runs_and_show_print_every_name_and_value_whole(db_url: str) -> None:
    task = "circle_packing"
    run_id = cli_json("run", task, "--max-evaluations", "3", "--seed", "1", "--db", db_url)[
        "run_id"
    ]
    listed = run_piped("runs", "--db", db_url)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if run_id in line)
    assert task in row  # not folded as `circle_pac` / `king` over two lines
    shown = run_piped("show", run_id, "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    assert "…" not in shown.stdout
    best = cli_json("show", run_id, "--db", db_url)["best_candidate_id"]
    assert best in shown.stdout


def test_offline_show_names_proposals_without_an_empty_spend_table(db_url: str) -> None:
    run_id = cli_json("run", "circle_packing", "--max-evaluations", "3", "--db", db_url)["run_id"]
    shown = run_piped("show", run_id, "--db", db_url).stdout
    assert "proposals and spend" not in shown and "$0.0000" not in shown
    assert "proposals: accepted " in shown


def test_show_puts_the_strongest_documented_baseline_beside_a_weak_reference(
    db_url: str,
) -> None:
    task = cli_json("tasks")["model_placement"]
    strongest = max(task["baselines"], key=lambda b: b["scores"]["train"])
    assert strongest["scores"]["train"] > task["reference_score"]  # reference: the weakest
    run_id = cli_json("run", "model_placement", "--max-evaluations", "2", "--db", db_url)["run_id"]
    summary = cli_json("show", run_id, "--db", db_url)
    assert summary["strongest_baseline"] == strongest["name"] == "local_search"
    assert summary["strongest_baseline_score"] == strongest["scores"]["train"]
    shown = run_piped("show", run_id, "--db", db_url).stdout
    row = next(line for line in shown.splitlines() if "strongest baseline" in line)
    assert f"{strongest['scores']['train']:.6g} (local_search)" in row
    cloudcast = cli_json("tasks")["cloudcast"]
    best_known = max(cloudcast["baselines"], key=lambda b: b["scores"]["train"])
    assert best_known["name"] == "greedy_tree"
    row = next(line for line in run_piped("tasks").stdout.splitlines() if "cloudcast" in line)
    assert f"greedy_tree {best_known['scores']['train']:.6g}" in row


def test_show_adds_no_baseline_row_for_a_task_that_documents_none(db_url: str) -> None:
    run_id = cli_json("run", "circle_packing", "--max-evaluations", "2", "--db", db_url)["run_id"]
    assert cli_json("show", run_id, "--db", db_url)["strongest_baseline"] is None
    assert "strongest baseline" not in run_piped("show", run_id, "--db", db_url).stdout


def test_no_task_scored_higher_is_better_tells_the_user_to_minimise() -> None:
    for name, task in cli_json("tasks").items():
        if task["direction"] == "maximize":
            text = task["description"].lower()
            assert "minimise" not in text and "minimize" not in text, name
