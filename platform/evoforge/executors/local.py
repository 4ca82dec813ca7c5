"""Evaluate on this machine: a pool of threads, each driving one sandbox at a time.

Threads are enough because the work happens in the sandbox's child process; the
thread only waits on it. The same `evaluate_job` function is what a Celery worker
calls, so both executors evaluate identically.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from evoforge.evaluation import SandboxCache, evaluate_job
from evoforge.jobs import EvaluationJob, EvaluationOutcome


class LocalExecutor:
    name: ClassVar[str] = "local"

    def __init__(
        self, slots: int = 2, sandbox_options: dict[str, Any] | None = None, **options: Any
    ) -> None:
        if slots < 1:
            raise ValueError("the local executor needs at least one evaluation slot")
        self.slots = slots
        self.sandboxes = SandboxCache(sandbox_options or {})
        self.pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="evoforge-eval")

    def check(self, sandbox: str) -> None:
        self.sandboxes.get(sandbox).check()

    async def evaluate(self, job: EvaluationJob) -> EvaluationOutcome:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, evaluate_job, job, self.sandboxes)

    def cancel(self) -> None:
        """Kill the evaluations in flight; their candidates stay pending for `resume`."""
        self.sandboxes.cancel_all()

    async def aclose(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
