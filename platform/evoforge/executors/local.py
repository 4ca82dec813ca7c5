"""Evaluate on this machine: a pool of threads, each driving one sandbox at a time.

Threads are enough because the work happens in the sandbox's child process; the
thread only waits on it. The same `evaluate_job` function is what a Celery worker
calls, so both executors evaluate identically.

GPU evaluations also hold one GPU each (`gpu_slots`). They wait for a free GPU in
the event loop, before taking a thread, so while every GPU is busy the threads stay
free for CPU evaluations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

from evoforge.evaluation import SandboxCache, evaluate_job
from evoforge.executors.gpu_slots import (
    GpuSlots,
    check_gpu_request,
    discover_gpus,
    parse_gpus,
)
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.task import Task


class LocalExecutor:
    name: ClassVar[str] = "local"

    def __init__(
        self,
        slots: int = 2,
        sandbox_options: dict[str, Any] | None = None,
        gpus: str | Iterable[int] | None = None,
        **options: Any,
    ) -> None:
        """`gpus`: the GPU ids to use (`[0, 1]` or `"0,1"`, empty for none); by default
        the GPUs `CUDA_VISIBLE_DEVICES` or nvidia-smi shows."""
        if slots < 1:
            raise ValueError("the local executor needs at least one evaluation slot")
        self.slots = slots
        self.sandboxes = SandboxCache(sandbox_options or {})
        self.pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="evoforge-eval")
        self.gpus = GpuSlots(parse_gpus(gpus) if gpus is not None else discover_gpus())
        self.no_gpus_because = (
            "this run was given no GPUs (--gpus is empty)"
            if gpus is not None
            else "this machine has none visible"
        )

    def check(self, sandbox: str) -> None:
        self.sandboxes.get(sandbox).check()

    def check_task(self, task: Task, sandbox: str | None = None) -> None:
        """Refuse now, not at the first evaluation, a GPU task this executor has no GPU
        for, or a task whose sandbox lacks what it needs (the docker sandbox's image)."""
        check_gpu_request(
            task.name, task.resources.gpus, self.gpus.ids, lacking=self.no_gpus_because
        )
        if sandbox is not None:
            sandbox_check = getattr(self.sandboxes.get(sandbox), "check_task", None)
            if sandbox_check is not None:
                sandbox_check(task)

    async def evaluate(self, job: EvaluationJob) -> EvaluationOutcome:
        if job.resources.gpus <= 0:
            # The GPUs are the executor's to give: a CPU job sees none of them.
            if job.gpu_slot is not None:
                job = job.model_copy(update={"gpu_slot": None})
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, evaluate_job, job, self.sandboxes)
        return await self._evaluate_on_gpu(job)

    async def _evaluate_on_gpu(self, job: EvaluationJob) -> EvaluationOutcome:
        """Hold one GPU from before the job is queued until its evaluation has ended.

        The GPU is released by the thread once the sandbox returns (a timed-out or
        crashed candidate included), or by the future's callback if the job is
        cancelled before a thread picked it up. Cancelling the await alone releases
        nothing: the evaluation may still be running on that GPU.
        """
        check_gpu_request(
            job.task_name, job.resources.gpus, self.gpus.ids, lacking=self.no_gpus_because
        )
        gpu = await self.gpus.acquire_async()
        try:
            future = self.pool.submit(
                _evaluate_then_release,
                job.model_copy(update={"gpu_slot": gpu}),
                self.sandboxes,
                self.gpus,
                gpu,
            )
        except BaseException:
            self.gpus.release(gpu)
            raise
        future.add_done_callback(lambda done: _release_if_cancelled(done, self.gpus, gpu))
        return await asyncio.wrap_future(future)

    def cancel(self) -> None:
        """Kill the evaluations in flight; their candidates stay pending for `resume`."""
        self.sandboxes.cancel_all()

    async def aclose(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.sandboxes.close()


def _evaluate_then_release(
    job: EvaluationJob, sandboxes: SandboxCache, gpus: GpuSlots, gpu: int
) -> EvaluationOutcome:
    try:
        return evaluate_job(job, sandboxes)
    finally:
        gpus.release(gpu)


def _release_if_cancelled(future: Future[EvaluationOutcome], gpus: GpuSlots, gpu: int) -> None:
    # A future cancelled before it ran never reached `_evaluate_then_release`.
    if future.cancelled():
        gpus.release(gpu)
