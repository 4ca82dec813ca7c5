"""A failed run says why, and the commands a run prints work when pasted (issue 20, 8-9).

A run where nothing succeeded must not look like a success: its closing lines, `show`
and `show --json` give the failures grouped by reason with counts, and `run` exits 1.
The `inspect:`/`export:`/`browse:` lines carry the run's `--db`, so following them from
another folder reads the same store.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from cli_helpers import cli_json, run_cli, write_folder_task

PROGRAM = """
# EVOLVE-BLOCK-START
FACTOR = 0.5
# EVOLVE-BLOCK-END

def run():
    return FACTOR
"""

TORCHLESS = """
def evaluate(program_path):
    raise ModuleNotFoundError("No module named 'torch'")
"""

# The seed scores; every child fails the same way: some ok evaluations, one failure group.
SEED_ONLY = """
from pathlib import Path

def evaluate(program_path):
    if "FACTOR = 0.5\\n" in Path(program_path).read_text():
        return 0.5
    raise ValueError("only the seed is allowed")
"""

TORCH_REASON = "evaluate raised ModuleNotFoundError: No module named 'torch'"


def _task(root: Path, name: str, evaluate: str) -> Path:
    return write_folder_task(
        root,
        name,
        {"task.toml": 'files = ["program.py"]\n', "program.py": PROGRAM, "evaluate.py": evaluate},
    )


def test_a_run_where_nothing_succeeded_exits_1_and_groups_its_failures(
    tmp_path: Path, db_url: str
) -> None:
    folder = _task(tmp_path, "torchless", TORCHLESS)
    args = ("run", str(folder), "--max-evaluations", "3", "--keep-going", "--db", db_url)

    human = run_cli(*args)
    assert human.returncode == 1, human.stderr
    assert f"3 of 3 failed: {TORCH_REASON}" in human.stdout
    assert "no evaluation succeeded" in human.stderr

    summary = cli_json(*args)  # exit 1 is required of it: see cli_json
    assert summary["failures"] == [{"status": "failed", "reason": TORCH_REASON, "count": 3}]
    run_id = summary["run_id"]

    shown = run_cli("show", run_id, "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    assert f"3 of 3 failed: {TORCH_REASON}" in shown.stdout
    as_json = cli_json("show", run_id, "--db", db_url)
    assert as_json["failures"] == summary["failures"]


def test_a_run_with_some_successes_exits_0_and_still_lists_its_failures(
    tmp_path: Path, db_url: str
) -> None:
    folder = _task(tmp_path, "seed_only", SEED_ONLY)
    result = run_cli("run", str(folder), "--max-evaluations", "4", "--json", "--db", db_url)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["evaluations"]["ok"] == 1
    reason = "evaluate raised ValueError: only the seed is allowed"
    assert summary["failures"] == [{"status": "failed", "reason": reason, "count": 3}]
    shown = run_cli("show", summary["run_id"], "--db", db_url)
    assert f"3 of 4 failed: {reason}" in shown.stdout


def test_printed_commands_carry_the_db_and_work_when_pasted_elsewhere(tmp_path: Path) -> None:
    folder = _task(tmp_path, "seed_only", SEED_ONLY)
    started_in = tmp_path / "started here"
    (started_in / "my store").mkdir(parents=True)
    # Relative to where the run started, with a space: the hints must still find it.
    db = "sqlite:///my store/x.db"
    result = run_cli("run", str(folder), "--max-evaluations", "2", "--db", db, cwd=started_in)
    assert result.returncode == 0, result.stderr

    hints = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in result.stdout.splitlines()
        if line.startswith(("inspect:", "export:", "browse:"))
    }
    assert set(hints) == {"inspect", "export", "browse"}, result.stdout
    stored = f"sqlite:///{started_in / 'my store' / 'x.db'}"
    for command in hints.values():
        assert shlex.split(command)[-2:] == ["--db", stored], command

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The hints name `evoforge` as invoked; on a user's PATH that is the installed script.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("inspect", "export"):
        pasted = subprocess.run(
            shlex.split(hints[name]),
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert pasted.returncode == 0, (hints[name], pasted.stderr)
    assert (elsewhere / "best" / "metadata.json").is_file()

    # An unknown run id points at `runs`, on the same store.
    unknown = run_cli("show", "nope", "--db", db, cwd=started_in)
    assert unknown.returncode == 2
    runs_hint = unknown.stderr.split("`")[1]
    assert shlex.split(runs_hint)[-2:] == ["--db", stored], unknown.stderr
    listed = subprocess.run(
        shlex.split(runs_hint), cwd=elsewhere, capture_output=True, text=True, env=env, timeout=120
    )
    assert listed.returncode == 0 and "seed_only" in listed.stdout, listed.stderr
    assert not (elsewhere / ".evoforge").exists()
