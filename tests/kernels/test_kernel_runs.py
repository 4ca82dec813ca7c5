"""Kernel tasks through the real CLI and sandbox: objective choice, refusals, report.

This machine has no GPU, which is the case these tests pin down: the run takes the
`correctness` objective, says that nothing is timed, and a speed objective is refused
before anything is stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli

from evoforge.api import create_run, resolve_task
from evoforge.config import ConfigError, build_config
from evoforge.store.database import open_database
from evoforge.store.repository import Repository

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """One offline run of kernel_vector_add: (folder, run id, the CLI's output)."""
    folder = tmp_path_factory.mktemp("kernel-run")
    done = run_cli(
        "run", "kernel_vector_add", "--max-evaluations", "4", "--seed", "3", "-E", "2", cwd=folder
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[1]
    return folder, run_id, done.stdout


def test_a_run_without_a_gpu_checks_correctness_and_says_nothing_was_timed(
    kernel_run: tuple[Path, str, str],
) -> None:
    folder, run_id, output = kernel_run
    assert "objective correctness" in output
    assert "no timing was measured" in " ".join(output.split())
    summary = cli_json("show", run_id, cwd=folder)
    assert summary["objective"] == "correctness"
    assert summary["metric"] == "correct"
    assert summary["seed_score"] == 1.0
    assert summary["evaluations"]["total"] == 4
    assert summary["evaluations"]["ok"] >= 1


def test_the_report_counts_untimed_runs_for_correctness_only(
    kernel_run: tuple[Path, str, str],
) -> None:
    folder, run_id, _ = kernel_run
    report = cli_json("kernels", "report", run_id, cwd=folder)
    assert report["fast_p"]["fast_0"] == 1.0
    assert report["fast_p"]["fast_1"] == 0.0
    assert report["geomean_speedup"] is None
    assert report["untimed"] == 1
    assert report["runs"][0]["task"] == "kernel_vector_add"
    shown = run_cli("kernels", "report", run_id, cwd=folder)
    assert "not timed" in shown.stdout and "fast_0 100%" in shown.stdout


def test_export_writes_the_best_kernel_with_its_metrics(
    kernel_run: tuple[Path, str, str], tmp_path: Path
) -> None:
    folder, run_id, _ = kernel_run
    done = run_cli("export", run_id, "--out", str(tmp_path / "best"), cwd=folder)
    assert done.returncode == 0, done.stderr
    exported = next((tmp_path / "best").glob("rank-01-*"))
    assert "@triton.jit" in (exported / "kernel.py").read_text()
    assert "FLAGGED" not in done.stdout


def test_a_speed_objective_without_a_gpu_is_refused_before_the_run(tmp_path: Path) -> None:
    done = run_cli(
        "run", "kernel_softmax", "--objective", "speedup", "--gpus", "none", cwd=tmp_path
    )
    assert done.returncode == 2
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "objective 'speedup' is measured on a GPU" in message
    assert "--objective correctness" in message
    assert cli_json("runs", cwd=tmp_path) == []


def test_an_unknown_objective_names_the_ones_the_task_offers(tmp_path: Path) -> None:
    done = run_cli("run", "kernel_softmax", "--objective", "fastest", cwd=tmp_path)
    assert done.returncode == 2
    assert "offers: speedup, correctness" in done.stderr
    other = run_cli("run", "circle_packing", "--objective", "speedup", cwd=tmp_path)
    assert other.returncode == 2
    assert "has no objectives to choose; drop --objective" in other.stderr


def test_with_a_gpu_the_run_is_judged_by_speedup(db_url: str) -> None:
    """A GPU given to the executor makes `speedup` the objective, with the GPU and the
    timing mode in the stored task (the run is not executed: no GPU here)."""
    database = open_database(db_url)
    task = resolve_task("kernel_matmul")
    with_gpu = create_run(task, build_config({}, {"gpus": [0]}), database)
    without = create_run(task, build_config({}, {"gpus": []}), database)
    repo = Repository(database)
    stored = repo.get_run(with_gpu).task_json
    assert stored["objective_name"] == "speedup"
    assert stored["metric"] == "speedup"
    assert stored["resources"]["gpus"] == 1
    assert stored["env"]["EVOFORGE_KERNEL_MODE"] == "speed"
    fallback = repo.get_run(without).task_json
    assert fallback["objective_name"] == "correctness"
    assert fallback["resources"]["gpus"] == 0
    assert fallback["env"]["TRITON_INTERPRET"] == "1"
    with pytest.raises(ConfigError):
        create_run(task, build_config({}, {"objective": "nope"}), database)
