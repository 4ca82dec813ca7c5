"""Users bring their own folders: evoforge's task.toml, OpenEvolve's layout, GEPA evaluators."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli, write_folder_task

from evoforge.api import run_task
from evoforge.folder_tasks import TaskFolderError, load_task_folder

PROGRAM = """
# EVOLVE-BLOCK-START
X = 3.0
# EVOLVE-BLOCK-END

def value():
    return X
"""

OPENEVOLVE_EVALUATOR = """
import importlib.util

from openevolve.evaluation_result import EvaluationResult


def _load(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate_stage1(program_path):
    x = _load(program_path).X
    return {"combined_score": 1.0 if x > 0 else 0.0, "stage1_ok": 1.0}


def evaluate_stage2(program_path):
    x = _load(program_path).X
    return EvaluationResult(
        metrics={"combined_score": 10.0 - abs(x - 7.0), "x": x},
        artifacts={"note": f"x was {x}"},
    )
"""


def test_task_toml_folder_runs_with_the_cli(tmp_path: Path, db_url: str) -> None:
    folder = write_folder_task(
        tmp_path,
        "target_seven",
        {
            "task.toml": """
            name = "target_seven"
            objective = "Make X close to 7."
            files = ["program.py"]
            evaluate = "evaluate.py:evaluate"
            direction = "minimize"
            [resources]
            timeout_s = 20
        """,
            "program.py": PROGRAM,
            "evaluate.py": """
            import runpy
            from evoforge.result import EvaluationResult

            def evaluate(program_path):
                x = runpy.run_path(program_path)["value"]()
                return EvaluationResult(score=abs(x - 7.0), metrics={"x": x}, feedback=f"x={x}")
        """,
        },
    )
    summary = cli_json("run", str(folder), "--max-evaluations", "8", "--seed", "1", "--db", db_url)
    assert summary["task"] == "target_seven"
    assert summary["evaluations"]["ok"] == 8
    assert summary["seed_score"] == pytest.approx(4.0)
    assert summary["best_score"] <= summary["seed_score"]


def test_openevolve_folder_runs_unchanged_with_cascade_and_evaluation_result(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_folder_task(
        tmp_path,
        "oe_task",
        {
            "initial_program.py": PROGRAM,
            "evaluator.py": OPENEVOLVE_EVALUATOR,
            "config.yaml": "evaluator:\n  cascade_thresholds: [0.5]\n",
        },
    )
    task = load_task_folder(folder)
    assert [s.name for s in task.stages] == ["evaluate_stage1"]
    assert task.evaluate.endswith("evaluator.py:evaluate_stage2")
    outcome = run_task(folder, db=db_url, max_evaluations=6, seed=2)
    assert outcome.summary["seed_score"] == pytest.approx(6.0)
    assert outcome.summary["evaluations"]["ok"] == 6
    assert "X =" in outcome.best_files["initial_program.py"]


def test_gepa_style_score_and_side_info_is_accepted(tmp_path: Path, db_url: str) -> None:
    folder = write_folder_task(
        tmp_path,
        "gepa_task",
        {
            "task.toml": """
            files = ["program.py"]
            instances = [1.0, 2.0, 4.0]
        """,
            "program.py": PROGRAM,
            "evaluate.py": """
            import re

            def evaluate(candidate, example):
                x = float(re.search(r"X = ([0-9.eE+-]+)", candidate).group(1))
                return -abs(x * example - 7.0), {"feedback": f"x*{example}={x * example}"}
        """,
        },
    )
    outcome = run_task(folder, db=db_url, max_evaluations=5, seed=4)
    assert outcome.summary["task"] == "gepa_task"
    # mean over the three instances of -|3*e - 7|: -(4 + 1 + 5) / 3
    assert outcome.summary["seed_score"] == pytest.approx(-10 / 3)
    assert outcome.summary["evaluations"]["ok"] == 5


def test_folder_without_task_file_names_the_fix(tmp_path: Path) -> None:
    folder = write_folder_task(tmp_path, "empty", {"notes.txt": "nothing here"})
    with pytest.raises(TaskFolderError, match="task.toml"):
        load_task_folder(folder)


def test_missing_evaluate_function_names_the_file(tmp_path: Path, db_url: str) -> None:
    folder = write_folder_task(
        tmp_path,
        "broken",
        {
            "task.toml": 'files = ["program.py"]\n',
            "program.py": PROGRAM,
            "evaluate.py": "def score(path):\n    return 1.0\n",
        },
    )
    result = run_cli("run", str(folder), "--db", db_url)
    assert result.returncode == 2
    assert "evaluate.py" in result.stderr and "evaluate" in result.stderr
    assert "Traceback" not in result.stderr


def test_syntax_error_in_evaluator_names_file_and_line(tmp_path: Path) -> None:
    folder = write_folder_task(
        tmp_path,
        "syntax",
        {
            "initial_program.py": PROGRAM,
            "evaluator.py": "def evaluate(program_path)\n    return {}\n",
        },
    )
    with pytest.raises(TaskFolderError, match=r"evaluator.py:1"):
        load_task_folder(folder)


def test_seed_with_nothing_to_mutate_stops_with_the_reason(tmp_path: Path, db_url: str) -> None:
    folder = write_folder_task(
        tmp_path,
        "no_literals",
        {
            "task.toml": 'files = ["program.py"]\n',
            "program.py": "def value():\n    return len('abc')\n",
            "evaluate.py": "def evaluate(program_path):\n    return 1.0\n",
        },
    )
    outcome = run_task(folder, db=db_url, max_evaluations=50, seed=1, max_fruitless_proposals=5)
    summary = outcome.summary
    assert summary["status"] == "finished"
    assert summary["evaluations"]["total"] == 1
    assert "numeric literal" in summary["stop_reason"]


def test_a_misspelt_task_toml_key_is_named_when_the_run_starts(tmp_path: Path, db_url: str) -> None:
    folder = write_folder_task(
        tmp_path,
        "typo",
        {
            "task.toml": 'files = ["program.py"]\ndirecton = "minimize"\n',
            "program.py": PROGRAM,
            "evaluate.py": "import runpy\n\ndef evaluate(p):\n    return runpy.run_path(p)['X']\n",
        },
    )
    result = run_cli("run", str(folder), "--max-evaluations", "2", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert "ignored: direction" not in result.stderr and "ignored: directon" in result.stderr
