"""GPU slots: one evaluation per GPU at a time, CPU jobs never queue behind GPU jobs.

This machine has no GPU. That does not matter: the process sandbox only sets
`CUDA_VISIBLE_DEVICES` to the slot, which is all an evaluator sees, so fake GPU ids
exercise the whole path.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli, write_folder_task

from evoforge.api import create_run
from evoforge.config import ConfigError, build_config
from evoforge.executors.gpu_slots import (
    GpuSlots,
    GpuUnavailable,
    check_gpu_request,
    discover_gpus,
    parse_gpus,
    parse_visible_devices,
)
from evoforge.executors.local import LocalExecutor
from evoforge.folder_tasks import load_task_folder
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.store.database import open_database
from evoforge.store.repository import Repository
from evoforge.task import ArtifactFile, Resources, Task

# Each evaluator reports what it saw and when it ran, in its metrics.
TIMED_EVALUATOR = """
import os
import time


def evaluate(program_path):
    start = time.time()
    time.sleep({sleep})
    return {{
        "score": 1.0,
        "visible": os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"),
        "start": start,
        "end": time.time(),
    }}
"""

SLEEP_FOREVER_EVALUATOR = """
import time


def evaluate(program_path):
    time.sleep(60)
    return 1.0
"""

MakeJob = Callable[..., EvaluationJob]


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """A job whose evaluator is the given source (the pattern of tests/sandboxes)."""
    counter = iter(range(1_000_000))

    def build(evaluator: str, *, gpus: int = 0, timeout_s: float = 20) -> EvaluationJob:
        number = next(counter)
        path = tmp_path / f"evaluator_{number}.py"
        path.write_text(textwrap.dedent(evaluator))
        return EvaluationJob(
            run_id="gpu-test",
            candidate_id=f"c{number}",
            task_name="gpu-test",
            files={"program.py": "VALUE = 1\n"},
            primary="program.py",
            evaluate=f"{path}:evaluate",
            resources=Resources(timeout_s=timeout_s, gpus=gpus),
        )

    return build


async def _evaluate_all(executor: LocalExecutor, jobs: list[EvaluationJob]) -> list[Any]:
    try:
        return await asyncio.gather(*(executor.evaluate(job) for job in jobs))
    finally:
        await executor.aclose()


# -- through the real executor and process sandbox ------------------------------------


def test_gpu_jobs_get_one_gpu_each_never_share_it_and_cpu_jobs_do_not_wait(
    make_job: MakeJob,
) -> None:
    executor = LocalExecutor(slots=4, gpus=[0, 1])
    gpu_jobs = [make_job(TIMED_EVALUATOR.format(sleep=0.3), gpus=1) for _ in range(6)]
    cpu_job = make_job(TIMED_EVALUATOR.format(sleep=0.0), gpus=0)
    submitted = time.time()
    outcomes: list[EvaluationOutcome] = asyncio.run(_evaluate_all(executor, [*gpu_jobs, cpu_job]))
    assert all(o.status == "ok" for o in outcomes), [o.reason for o in outcomes]
    *gpu_runs, cpu_run = (o.metrics for o in outcomes)

    assert {run["visible"] for run in gpu_runs} == {"0", "1"}  # one id each, both GPUs used
    for gpu in ("0", "1"):
        spans = sorted((run["start"], run["end"]) for run in gpu_runs if run["visible"] == gpu)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two evaluations overlapped on GPU {gpu}: {spans}"

    assert cpu_run["visible"] == ""
    # Three rounds of 0.3 s GPU jobs run before the last GPU job starts; the CPU job
    # started in the first round, not after them.
    last_gpu_start = max(run["start"] for run in gpu_runs)
    assert cpu_run["start"] < last_gpu_start
    assert cpu_run["start"] - submitted < last_gpu_start - submitted - 0.3
    assert executor.gpus.free() and sorted(executor.gpus.free()) == [0, 1]


def test_a_gpu_is_released_after_a_timeout_and_after_a_crash(make_job: MakeJob) -> None:
    executor = LocalExecutor(slots=2, gpus=[0])
    crash = make_job("def evaluate(program_path):\n    raise SystemExit(3)\n", gpus=1)
    hang = make_job(SLEEP_FOREVER_EVALUATOR, gpus=1, timeout_s=1)
    after = make_job(TIMED_EVALUATOR.format(sleep=0.0), gpus=1, timeout_s=20)

    async def in_order() -> list[EvaluationOutcome]:
        try:
            return [await executor.evaluate(job) for job in (crash, hang, after)]
        finally:
            await executor.aclose()

    started = time.monotonic()
    crashed, timed_out, ok = asyncio.run(asyncio.wait_for(in_order(), timeout=30))
    assert crashed.status in ("failed", "crashed"), crashed
    assert timed_out.status == "timeout", timed_out.reason
    assert ok.status == "ok" and ok.metrics["visible"] == "0", ok.reason
    assert time.monotonic() - started < 15
    assert executor.gpus.free() == [0]


def test_a_gpu_is_released_when_the_sandbox_itself_fails(make_job: MakeJob) -> None:
    executor = LocalExecutor(slots=1, gpus=[0])
    broken = make_job(TIMED_EVALUATOR.format(sleep=0.0), gpus=1).model_copy(
        update={"sandbox": "no-such-sandbox"}
    )
    outcome = asyncio.run(_evaluate_all(executor, [broken]))[0]
    assert outcome.status == "crashed" and "no-such-sandbox" in outcome.reason
    assert executor.gpus.free() == [0]


def test_a_gpu_job_cancelled_while_queued_gives_its_gpu_back(make_job: MakeJob) -> None:
    executor = LocalExecutor(slots=1, gpus=[0, 1])
    blocker = make_job(TIMED_EVALUATOR.format(sleep=1.0), gpus=0)
    queued = make_job(TIMED_EVALUATOR.format(sleep=0.0), gpus=1)

    async def scenario() -> None:
        try:
            first = asyncio.create_task(executor.evaluate(blocker))
            await asyncio.sleep(0.1)
            waiting = asyncio.create_task(executor.evaluate(queued))
            await asyncio.sleep(0.1)  # it holds a GPU and waits for the only thread
            assert len(executor.gpus.free()) == 1
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert sorted(executor.gpus.free()) == [0, 1]
            await first
        finally:
            await executor.aclose()

    asyncio.run(scenario())


def test_a_gpu_job_on_an_executor_without_gpus_fails_instead_of_waiting(
    make_job: MakeJob,
) -> None:
    executor = LocalExecutor(slots=1, gpus="")
    with pytest.raises(GpuUnavailable, match="--gpus"):
        asyncio.run(_evaluate_all(executor, [make_job("def evaluate(p):\n    return 1\n", gpus=1)]))


# -- the allocator ----------------------------------------------------------------------


def test_slots_hand_out_each_gpu_once_and_block_until_one_is_released() -> None:
    slots = GpuSlots([3, 5])
    first, second = slots.acquire(), slots.acquire()
    assert {first, second} == {3, 5} and slots.try_acquire() is None
    with pytest.raises(TimeoutError):
        slots.acquire(timeout=0.05)

    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(timeout=5)))
    waiter.start()
    time.sleep(0.1)
    assert not got  # still waiting
    slots.release(second)
    waiter.join(5)
    assert got == [second]


def test_slot_context_manager_releases_on_exception() -> None:
    slots = GpuSlots([0])
    with pytest.raises(RuntimeError), slots.slot() as gpu:
        assert gpu == 0 and slots.free() == []
        raise RuntimeError("evaluation blew up")
    assert slots.free() == [0]


def test_releasing_a_gpu_that_is_not_held_is_an_error() -> None:
    slots = GpuSlots([0])
    with pytest.raises(ValueError, match="not held"):
        slots.release(0)
    with pytest.raises(ValueError, match="not held"):
        slots.release(7)


def test_many_threads_never_hold_the_same_gpu_at_once() -> None:
    slots = GpuSlots([0, 1, 2])
    holders: dict[int, int] = {0: 0, 1: 0, 2: 0}
    overlaps: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(30):
            with slots.slot(timeout=10) as gpu:
                with lock:
                    holders[gpu] += 1
                    if holders[gpu] > 1:
                        overlaps.append(gpu)
                time.sleep(0.0005)
                with lock:
                    holders[gpu] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == [] and sorted(slots.free()) == [0, 1, 2]


def test_async_waiters_wake_on_release_and_a_cancelled_wait_takes_nothing() -> None:
    slots = GpuSlots([0])

    async def scenario() -> None:
        held = await slots.acquire_async()
        cancelled = asyncio.create_task(slots.acquire_async())
        waiting = asyncio.create_task(slots.acquire_async())
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await asyncio.sleep(0.01)
        # Released from another thread, as the local executor's threads do.
        threading.Thread(target=slots.release, args=(held,)).start()
        assert await asyncio.wait_for(waiting, 5) == 0
        assert cancelled.cancelled() and slots.free() == []

    asyncio.run(scenario())


def test_waiting_on_no_gpus_raises_at_once() -> None:
    with pytest.raises(GpuUnavailable):
        GpuSlots([]).acquire(timeout=None)


# -- options and discovery --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("0,1", [0, 1]),
        (" 2 , 0 ", [2, 0]),
        ("", []),
        ("none", []),
        (None, []),
        ([1], [1]),
        (3, [3]),
    ],
)
def test_gpu_option_forms(value: Any, ids: list[int]) -> None:
    assert parse_gpus(value) == ids


@pytest.mark.parametrize("value", ["a", "0,x", "-1", "0,0", [True]])
def test_bad_gpu_options_are_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_gpus(value)


def test_run_config_takes_gpus_into_the_executor_options() -> None:
    config = build_config({"executor_options": {"other": 1}}, {"gpus": "0,1"})
    assert config.executor_options == {"other": 1, "gpus": [0, 1]}
    assert build_config({}, {"gpus": []}).executor_options == {"gpus": []}
    assert build_config({}, {}).executor_options == {}  # not given: discover at run time
    with pytest.raises(ConfigError, match="executor_options"):
        build_config({"executor_options": {"gpus": "zero"}}, {})


@pytest.mark.parametrize(
    ("visible", "ids"),
    [
        ("0", [0]),
        ("1,0", [1, 0]),
        ("", []),
        ("-1", []),
        ("0,-1,1", [0]),  # CUDA stops at the first invalid entry
        ("GPU-8f0c1b2a,2", [2]),  # UUIDs cannot be slot indices
    ],
)
def test_cuda_visible_devices_is_read_the_way_cuda_reads_it(visible: str, ids: list[int]) -> None:
    assert parse_visible_devices(visible) == ids


def _fake_nvidia_smi(folder: Path, script: str) -> None:
    program = folder / "nvidia-smi"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def test_discovery_respects_cuda_visible_devices_even_when_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_nvidia_smi(tmp_path, "printf '0\\n1\\n'\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert discover_gpus({"CUDA_VISIBLE_DEVICES": "1"}) == [1]
    assert discover_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert discover_gpus({}) == [0, 1]


def test_discovery_finds_none_when_nvidia_smi_is_missing_or_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert discover_gpus({}) == []
    _fake_nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert discover_gpus({}) == []
    _fake_nvidia_smi(tmp_path, "echo 'No devices were found'\n")
    assert discover_gpus({}) == []


def test_executor_defaults_to_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert LocalExecutor(slots=1).gpus.ids == (4, 6)
    assert LocalExecutor(slots=1, gpus="").gpus.ids == ()
    assert LocalExecutor(slots=1, gpus="1").gpus.ids == (1,)


# -- refusing what cannot run -----------------------------------------------------------


def _task(gpus: int) -> Task:
    return Task(
        name="kernel",
        files=[ArtifactFile(name="k.py", seed="")],
        evaluate="m:f",
        resources=Resources(gpus=gpus),
    )


def test_executor_refuses_a_gpu_task_without_gpus_and_more_than_one_gpu_per_evaluation() -> None:
    with pytest.raises(GpuUnavailable, match="'kernel' needs a GPU.*--gpus"):
        LocalExecutor(slots=1, gpus=[]).check_task(_task(1))
    with pytest.raises(GpuUnavailable, match="asks for 2 GPUs per evaluation"):
        LocalExecutor(slots=1, gpus=[0, 1]).check_task(_task(2))
    LocalExecutor(slots=1, gpus=[0]).check_task(_task(1))
    LocalExecutor(slots=1, gpus=[]).check_task(_task(0))
    check_gpu_request("cpu-task", 0, [])


GPU_TASK = {
    "task.toml": """
    name = "needs_gpu"
    files = ["program.py"]
    evaluate = "evaluate.py:evaluate"
    [resources]
    gpus = 1
    timeout_s = 20
    """,
    "program.py": "X = 1\n",
    "evaluate.py": """
    import os

    def evaluate(program_path):
        return {"score": 1.0, "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}
    """,
}


def _cli_env_without_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_cli copies os.environ: leave it no CUDA_VISIBLE_DEVICES and no nvidia-smi."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    folders = os.environ.get("PATH", "").split(os.pathsep)
    kept = [f for f in folders if f and not (Path(f) / "nvidia-smi").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(kept))


def test_cli_refuses_a_gpu_task_on_a_machine_without_gpus_in_one_line(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_folder_task(tmp_path, "needs_gpu", GPU_TASK)
    _cli_env_without_gpus(monkeypatch)
    for extra in ([], ["--json"], ["--gpus", ""], ["--gpus", "none"]):
        result = run_cli("run", str(folder), "--max-evaluations", "2", *extra, "--db", db_url)
        assert result.returncode == 2, (extra, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, (extra, result.stderr)
        assert "needs_gpu" in lines[0] and "needs a GPU" in lines[0] and "--gpus" in lines[0]
        assert "Traceback" not in result.stderr


def test_a_refused_run_is_not_stored(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_folder_task(tmp_path, "needs_gpu", GPU_TASK)
    _cli_env_without_gpus(monkeypatch)
    refused = run_cli("run", str(folder), "--json", "--db", db_url)
    assert refused.returncode == 2, refused.stderr
    listed = run_cli("runs", "--json", "--db", db_url)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_cli_gpu_run_and_resume_give_the_evaluator_the_chosen_gpu(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_folder_task(tmp_path, "needs_gpu", GPU_TASK)
    _cli_env_without_gpus(monkeypatch)
    fresh = run_cli(
        "run", str(folder), "--max-evaluations", "3", "--gpus", "5", "--json", "--db", db_url
    )
    assert fresh.returncode == 0, fresh.stderr
    assert _visible_devices_seen(db_url, json.loads(fresh.stdout)["run_id"]) == {"5"}

    # A run stored on a GPU machine (gpus=[0]) and resumed on one without any.
    task = load_task_folder(folder)
    config = build_config({}, {"gpus": [0], "max_evaluations": 2})
    with open_database(db_url) as database:
        run_id = create_run(task, config, database)
    refused = run_cli("resume", run_id, "--gpus", "none", "--json", "--db", db_url)
    assert refused.returncode == 2
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs a GPU" in lines[0] and "--gpus" in lines[0], lines
    bad = run_cli("resume", run_id, "--gpus", "zero", "--db", db_url)
    assert bad.returncode == 2 and "--gpus" in bad.stderr and "Traceback" not in bad.stderr
    resumed = run_cli("resume", run_id, "--gpus", "3", "--json", "--db", db_url)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "finished"
    assert _visible_devices_seen(db_url, run_id) == {"3"}


def _visible_devices_seen(db_url: str, run_id: str) -> set[str]:
    with open_database(db_url) as database:
        views = Repository(database).evaluated_candidates(run_id)
    assert views and all(view.status == "ok" for view in views), views
    return {view.metrics["visible"] for view in views}


def test_cli_rejects_a_malformed_gpus_option_in_one_line(tmp_path: Path, db_url: str) -> None:
    folder = write_folder_task(tmp_path, "needs_gpu", GPU_TASK)
    result = run_cli("run", str(folder), "--gpus", "0,first", "--db", db_url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--gpus" in result.stderr
