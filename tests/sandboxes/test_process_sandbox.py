"""The process sandbox runs ordinary evaluators the way their authors expect."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from evoforge.evaluation import SandboxCache, evaluate_job
from evoforge.hookspecs import hookimpl
from evoforge.jobs import EvaluationJob
from evoforge.protocols import Sandbox
from evoforge.sandboxes import process as process_module
from evoforge.sandboxes.process import ProcessSandbox
from evoforge.task import Stage

MakeJob = Callable[..., EvaluationJob]


def test_process_sandbox_matches_the_sandbox_protocol_and_registers_itself() -> None:
    assert isinstance(ProcessSandbox(), Sandbox)
    ProcessSandbox().check()
    assert process_module.evoforge_sandboxes() == [ProcessSandbox]
    assert hasattr(process_module.evoforge_sandboxes, hookimpl.project_name + "_impl")


def test_dict_of_metrics_is_scored_by_combined_score(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def evaluate(program_path):
            value = load(program_path).VALUE
            return {"combined_score": value * 2, "size": 3}
        """
    )
    outcome = sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert outcome.score == 1.0
    assert outcome.metrics["size"] == 3
    assert outcome.sandbox.startswith("process")
    assert outcome.host and outcome.duration_s > 0


def test_plain_number_is_the_score(sandbox, make_job: MakeJob) -> None:
    outcome = sandbox.run(make_job("def evaluate(path):\n    return load(path).VALUE\n"))
    assert (outcome.status, outcome.score) == ("ok", 0.5)


def test_score_and_side_info_tuple_becomes_feedback(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def evaluate(program):
            return 0.25, {"hint": "pack the corners first", "runtime": 1.5}
        """
    )
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.25)
    assert "pack the corners first" in outcome.feedback
    assert outcome.metrics["runtime"] == 1.5


def test_native_evaluation_result_keeps_instance_scores(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        from evoforge.result import EvaluationResult

        def evaluate(program_path):
            return EvaluationResult(score=0.75, feedback="fine", instance_scores={"a": 1, "b": 0.5})
        """
    )
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.75)
    assert outcome.instance_scores == {"a": 1.0, "b": 0.5}
    assert outcome.feedback == "fine"


def test_openevolve_evaluator_runs_unchanged(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        from openevolve.evaluation_result import EvaluationResult

        def evaluate(program_path):
            return EvaluationResult(
                metrics={"combined_score": load(program_path).VALUE, "validity": 1.0},
                artifacts={"note": "from openevolve"},
            )
        """
    )
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.5), outcome.reason
    assert outcome.artifacts == {"note": "from openevolve"}


def test_gepa_evaluator_is_called_once_per_instance(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def evaluate(candidate, example):
            factor = float(candidate.split("=")[1])
            return factor * example["x"], {"seen": f"x={example['x']}"}
        """,
        program="FACTOR=0.5",
        instances=[{"x": 1}, {"x": 2}, {"x": 3}],
    )
    outcome = sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert outcome.score == 1.0
    assert outcome.instance_scores == {"0": 0.5, "1": 1.0, "2": 1.5}
    assert "[instance 2] seen: x=3" in outcome.feedback


def test_cascade_stops_at_a_stage_below_its_threshold(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def quick(program_path):
            return {"score": 0.1, "compiles": 1}

        def evaluate(program_path):
            raise AssertionError("the full evaluation must not run")
        """
    )
    job.stages = [
        Stage(name="quick", function=f"{job.evaluate.rsplit(':', 1)[0]}:quick", threshold=0.5)
    ]
    outcome = sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert (outcome.stage, outcome.score) == ("quick", 0.1)
    assert "below its threshold" in outcome.reason


def test_cascade_runs_evaluate_when_every_stage_passes(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import os

        def quick(files, artifact_dir):
            assert os.path.isdir(artifact_dir) and list(files) == ["program.py"]
            return {"score": 0.9, "compiles": 1}

        def evaluate(program_path):
            return {"score": 0.7, "full": 1}
        """
    )
    job.stages = [
        Stage(name="quick", function=f"{job.evaluate.rsplit(':', 1)[0]}:quick", threshold=0.5)
    ]
    outcome = sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert (outcome.stage, outcome.score) == (None, 0.7)
    assert outcome.metrics["compiles"] == 1 and outcome.metrics["full"] == 1


def test_evaluator_exception_is_failed_with_the_traceback(sandbox, make_job: MakeJob) -> None:
    job = make_job("def evaluate(program_path):\n    return 1 / 0\n")
    outcome = sandbox.run(job)
    assert outcome.status == "failed"
    assert "ZeroDivisionError" in outcome.reason
    assert "Traceback" in outcome.feedback


def test_error_key_marks_the_candidate_invalid(sandbox, make_job: MakeJob) -> None:
    job = make_job("def evaluate(program_path):\n    return {'error': 'no circles', 'score': 0}\n")
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.reason) == ("invalid", "no circles")


def test_evaluator_named_by_module_reference_on_python_path(
    sandbox, make_job: MakeJob, tmp_path: Path
) -> None:
    package = tmp_path / "mytask"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "scoring.py").write_text("def evaluate(program_path):\n    return 0.125\n")
    job = make_job("", python_path=[str(tmp_path)])
    job.evaluate = "mytask.scoring:evaluate"
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.125), outcome.reason


def test_unfillable_parameter_is_a_clear_failure(sandbox, make_job: MakeJob) -> None:
    outcome = sandbox.run(make_job("def evaluate(program_path, budget):\n    return 1.0\n"))
    assert outcome.status == "failed"
    assert "'budget'" in outcome.reason


def test_candidate_output_is_captured_and_work_folder_removed(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import os, sys

        def evaluate(program_path):
            print("hello from the candidate")
            print("warning!", file=sys.stderr)
            return 1.0, {"cwd": os.getcwd(), "home": os.environ["HOME"]}
        """
    )
    outcome = sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert outcome.stdout == "hello from the candidate\n"
    assert "warning!" in outcome.stderr
    folder = outcome.feedback.split("cwd: ")[1].split("\n")[0]
    assert f"home: {folder}" in outcome.feedback
    # A warm slot keeps its folder, emptied; closing the sandbox removes it.
    assert not os.path.exists(folder) or set(os.listdir(folder)) <= {"tmp", "shm"}
    sandbox.close()
    assert not os.path.exists(folder)


def test_concurrent_runs_from_threads_keep_their_own_results(sandbox, make_job: MakeJob) -> None:
    jobs = [
        make_job("def evaluate(path):\n    return load(path).VALUE\n", program=f"VALUE = {i}\n")
        for i in range(6)
    ]
    scores: dict[int, float | None] = {}

    def work(index: int) -> None:
        scores[index] = sandbox.run(jobs[index]).score

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert scores == {i: float(i) for i in range(len(jobs))}


def test_an_evaluation_that_starts_after_ctrl_c_is_killed_at_once(make_job: MakeJob) -> None:
    """Ctrl-C cancels the sandboxes while an evaluation may still be starting, its
    sandbox not even built yet: that candidate must not run out its timeout either."""
    sandboxes = SandboxCache({})
    sandboxes.cancel_all()
    job = make_job(
        """
        import time

        def evaluate(program_path):
            time.sleep(30)
            return 1.0
        """,
        resources={"timeout_s": 60},
    )
    started = time.monotonic()
    outcome = evaluate_job(job, sandboxes)
    assert time.monotonic() - started < 10
    assert outcome.status != "ok", outcome.reason
