"""The built-in `circle_packing` task: a strict evaluator and a seed with room to improve."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import numpy as np
import pytest

from evoforge.candidate_process import CandidateRaised
from evoforge.evaluators.circle_packing import evoforge_tasks
from evoforge.evaluators.circle_packing.evaluate import check_packing, evaluate
from evoforge.evaluators.loading import load_program
from evoforge.plugins.proposers.mutate import MutateProposer
from evoforge.proposals import CandidateView, ProposalRequest
from evoforge.result import EvaluationResult, normalize
from evoforge.task import Task

SEED_SCORE = 2.0553


@pytest.fixture(scope="module")
def task() -> Task:
    (only,) = evoforge_tasks()
    return only


def run_program(tmp_path: Path, source: str, name: str = "program.py") -> EvaluationResult:
    path = tmp_path / name
    path.write_text(source)
    return evaluate(str(path))


def grid_packing() -> tuple[np.ndarray, np.ndarray]:
    """25 touching circles of radius 0.1 on a 5 x 5 grid, plus one of radius 0 in a gap."""
    ticks = np.arange(5) * 0.2 + 0.1
    centers = [(x, y) for x in ticks for y in ticks] + [(0.2, 0.2)]
    radii = [0.1] * 25 + [0.0]
    return np.array(centers), np.array(radii)


def test_task_is_registered_with_seed_reference_and_features(task: Task) -> None:
    assert task.name == "circle_packing"
    assert task.primary == "program.py"
    assert "EVOLVE-BLOCK-START" in task.files[0].seed
    assert task.evaluate == "evoforge.evaluators.circle_packing.evaluate:evaluate"
    assert task.reference_score == 2.635 and "2.63598" in task.reference_note
    assert task.direction == "maximize" and task.features


def test_seed_is_a_valid_packing_with_the_expected_score(task: Task, tmp_path: Path) -> None:
    result = run_program(tmp_path, task.files[0].seed)
    assert result.valid, result.reason
    assert result.score == pytest.approx(SEED_SCORE, abs=1e-4)
    assert result.metrics["sum_radii"] == result.score
    assert result.metrics["target_ratio"] == pytest.approx(result.score / 2.635)
    for feature in task.features:
        assert math.isfinite(result.metrics[feature])
    assert "smallest circles: #" in result.feedback


def test_seed_evaluates_well_under_a_second(task: Task, tmp_path: Path) -> None:
    """Most of it is the program's own process: a fresh interpreter importing numpy
    (about 0.2 s here); the checking and scoring take milliseconds."""
    run_program(tmp_path, task.files[0].seed, "warm.py")
    started = time.perf_counter()
    run_program(tmp_path, task.files[0].seed)
    assert time.perf_counter() - started < 0.75


def test_touching_grid_is_valid_and_scores_its_sum() -> None:
    result = check_packing(*grid_packing())
    assert result.valid, result.reason
    assert result.score == pytest.approx(2.5)
    assert result.metrics["border_fraction"] == pytest.approx(16 / 26)


def test_overlapping_circles_are_invalid_and_named() -> None:
    centers, radii = grid_packing()
    centers[7] = centers[8] + [0.0, -0.15]  # 0.05 too close to circle 8
    result = check_packing(centers, radii)
    assert not result.valid and result.score is None
    assert "circles 7 and 8 overlap by 0.05" in result.reason


def test_circle_outside_the_square_is_invalid_and_named() -> None:
    centers, radii = grid_packing()
    radii[25] = 0.5  # the circle at (0.2, 0.2) reaches past both edges and its neighbours
    centers[0] = (0.05, 0.1)
    result = check_packing(centers, radii)
    assert not result.valid
    assert "circle 0 (centre (0.05, 0.1), radius 0.1) sticks out of the unit square by 0.05" in (
        result.reason
    )
    assert "circle 25" in result.reason


def test_wrong_number_of_circles_is_invalid() -> None:
    centers, radii = grid_packing()
    result = check_packing(centers[:25], radii[:25])
    assert not result.valid
    assert "expected 26 circles" in result.reason and "(25, 2)" in result.reason


def test_nan_is_invalid_and_named() -> None:
    centers, radii = grid_packing()
    radii[4] = float("nan")
    result = check_packing(centers, radii)
    assert not result.valid
    assert "circle 4 has a non-finite" in result.reason


def test_negative_radius_is_invalid() -> None:
    centers, radii = grid_packing()
    radii[25] = -0.01
    result = check_packing(centers, radii)
    assert not result.valid and "circle 25 has a negative radius" in result.reason


def test_non_numeric_output_is_invalid() -> None:
    result = check_packing("not circles", [1, 2])
    assert not result.valid and "arrays of numbers" in result.reason


def test_program_without_construct_packing_is_invalid(tmp_path: Path) -> None:
    result = run_program(tmp_path, "def something_else():\n    return None\n")
    assert not result.valid and "construct_packing" in result.reason


def test_program_returning_the_wrong_shape_is_invalid(tmp_path: Path) -> None:
    result = run_program(tmp_path, "def construct_packing():\n    return 2.6\n")
    assert not result.valid and "(centers, radii)" in result.reason


def test_crashing_program_raises_for_the_sandbox_to_record(tmp_path: Path) -> None:
    with pytest.raises(CandidateRaised) as raised:
        run_program(tmp_path, "def construct_packing():\n    return 1 / 0\n")
    assert raised.value.type_name == "ZeroDivisionError"
    assert "1 / 0" in raised.value.remote_traceback  # the candidate's line, for the proposer


def test_the_program_runs_apart_from_the_checker(tmp_path: Path) -> None:
    """A program that patches the checker in its own process changes nothing here."""
    body = (
        "import evoforge.evaluators.circle_packing.evaluate as ev\n"
        "from evoforge.result import EvaluationResult\n"
        "ev.check_packing = lambda c, r: EvaluationResult(score=1e9)\n"
        "def construct_packing():\n"
        "    return [[0.5, 0.5]] * 26, [0.5] * 26\n"
    )
    result = run_program(tmp_path, body)
    assert not result.valid and "overlap" in result.reason


def test_a_process_that_dies_is_invalid_with_the_reason(tmp_path: Path) -> None:
    result = run_program(tmp_path, "import os\ndef construct_packing():\n    os._exit(7)\n")
    assert not result.valid and "exited with code 7" in result.reason
    result = run_program(tmp_path, "def construct_packing():\n    return {1, 2}, []\n")
    assert not result.valid and "not plain data" in result.reason


def score_in_process(tmp_path: Path, source: str, name: str) -> float | None:
    """The checker on the program's circles, imported here: the hill climb below scores
    hundreds of programs, and a process per program would dominate its run time."""
    path = tmp_path / name
    path.write_text(source)
    try:
        returned = load_program(path).construct_packing()
    except Exception:
        return None
    result = check_packing(returned[0], returned[1])
    return result.score if result.valid else None


def test_invalid_result_reads_as_invalid_on_the_platform() -> None:
    centers, radii = grid_packing()
    centers[1] = centers[0]
    normalized = normalize(check_packing(centers, radii), "sum_radii")
    assert not normalized.valid and "circles 0 and 1 overlap" in normalized.reason


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mutate_hill_climb_improves_the_seed_within_100_evaluations(
    task: Task, tmp_path: Path, seed: int
) -> None:
    """The offline proposer alone makes real progress on this task (in-process, no sandbox)."""
    proposer = MutateProposer(task=task)
    files = task.seed_files()
    best = score_in_process(tmp_path, files["program.py"], "seed.py")
    assert best is not None
    start = best
    for step in range(100):
        parent = CandidateView(id=str(step), files=files, score=best, fitness=best, status="ok")
        request = ProposalRequest(task=task, parent=parent, seed=seed * 1000 + step)
        child = asyncio.run(proposer.propose(request)).files
        score = score_in_process(tmp_path, child["program.py"], f"child_{step}.py")
        if score is not None and score > best:
            best, files = score, child
    assert best > start + 0.05, f"seed {seed}: {start:.4f} -> {best:.4f}"
