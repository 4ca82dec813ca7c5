"""The `celery` executor: evaluations as Celery tasks on queues named for what they need.

The orchestrator only publishes and waits; workers (`evoforge worker`) evaluate in
their sandbox and store the outcome in the run's SQL store themselves. The broker
and result backend are Redis; the store is a URL every machine reaches.

While the broker is unreachable the run pauses: publishing and result reads retry
with backoff, the pause is reported through the `evoforge_run_paused` hook (the CLI
prints it), and the run goes on when Redis is back. Nothing is lost meanwhile:
queued messages live in Redis (run it with persistence, docs/distributed.md) and
finished evaluations are already in the store.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, ClassVar

from evoforge.executors.distributed.results import (
    RETRY_MAX_S,
    STALL_S,
    ResultWatcher,
    broker_errors,
    first_line,
)
from evoforge.executors.distributed.settings import (
    BROKER_HINT,
    DEFAULT_VISIBILITY_TIMEOUT_S,
    TASK_NAME,
    BrokerConfigError,
    make_app,
    queue_for,
    redact,
    resolve_broker,
    time_limits,
)
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.plugin_manager import registry
from evoforge.protocols import ExecutorUnavailable
from evoforge.secret_values import remember_url
from evoforge.task import Task

log = logging.getLogger(__name__)

DEFAULT_POLL_S = 0.005


class CeleryExecutor:
    name: ClassVar[str] = "celery"

    def __init__(
        self,
        slots: int = 2,
        sandbox_options: dict[str, Any] | None = None,
        broker: str | None = None,
        queue: str | None = None,
        visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT_S,
        poll_s: float = DEFAULT_POLL_S,
        stall_s: float = STALL_S,
        gpus: Any = None,
        **options: Any,
    ) -> None:
        """`slots` is the orchestrator's to honour (it keeps that many in flight);
        `broker`: a Redis URL (default: `$EVOFORGE_BROKER`); `queue`: send every
        evaluation there instead of `cpu`/`gpu`/the task's own; `visibility_timeout`:
        must match the workers' (`evoforge worker --visibility-timeout`); `stall_s`:
        after this long with evaluations queued and none started, say so."""
        if options:
            raise BrokerConfigError(
                f"unknown celery executor option(s): {', '.join(sorted(options))}; known: "
                "broker, queue, visibility_timeout, poll_s, stall_s"
            )
        if gpus:
            raise BrokerConfigError(
                "with the celery executor GPUs belong to the workers: drop --gpus here and "
                "start GPU workers with: evoforge worker --queues gpu --gpus 0,1"
            )
        self.sandbox_options = sandbox_options or {}
        self.broker = resolve_broker(broker)
        remember_url(self.broker)  # a broker password no candidate output may carry
        self.queue = queue
        self.visibility_timeout = float(visibility_timeout)
        self.app = make_app(self.broker, self.visibility_timeout)
        self.session = secrets.token_hex(4)
        self.run_id = ""
        self.paused: dict[str, str] = {}
        self.watcher = ResultWatcher(self.app, poll_s, self._pause, stall_s)
        self._errors = broker_errors()

    # -- refusing before the run ------------------------------------------------------
    def check(self, sandbox: str) -> None:
        """The broker must answer now; later outages pause the run instead."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=5)
        except self._errors as exc:
            raise ExecutorUnavailable(
                f"the broker at {redact(self.broker)} is unreachable ({first_line(exc)}): start "
                f"Redis there or {BROKER_HINT}"
            ) from None

    def check_task(self, task: Task, sandbox: str | None = None) -> None:
        """Refuse a task whose evaluations may legitimately outlast the visibility
        timeout: Redis would hand a still-running evaluation to a second worker."""
        if task.resources.timeout_s >= self.visibility_timeout:
            raise ExecutorUnavailable(
                f"task {task.name} may evaluate for {task.resources.timeout_s:g} s, not less "
                f"than the broker's visibility timeout ({self.visibility_timeout:g} s), so a "
                "slow evaluation would be delivered twice: raise executor_options."
                "visibility_timeout in the run config and --visibility-timeout on the workers"
            )

    # -- evaluating -------------------------------------------------------------------
    async def evaluate(self, job: EvaluationJob) -> EvaluationOutcome:
        self.run_id = job.run_id
        # A fresh id per session: a resumed run must not reuse the id of a message the
        # workers were told to revoke when the previous session was interrupted.
        task_id = "-".join(filter(None, (job.candidate_id, job.split, self.session)))
        queue = queue_for(job.resources, self.queue)
        future = self.watcher.expect(task_id, queue)
        try:
            await self._publish(job, task_id, queue)
            return await future
        finally:
            self.watcher.discard(task_id)

    async def _publish(self, job: EvaluationJob, task_id: str, queue: str) -> None:
        limits = time_limits(job.resources)
        args = [
            job.model_dump(mode="json"),
            {job.sandbox: self.sandbox_options.get(job.sandbox, {})},
        ]
        delay = 0.25
        while True:
            try:
                await asyncio.to_thread(
                    self.app.send_task,
                    TASK_NAME,
                    args=args,
                    task_id=task_id,
                    queue=queue,
                    soft_time_limit=limits.soft_s,
                    time_limit=limits.hard_s,
                    retry=False,
                )
            except self._errors as exc:
                self._pause(
                    "publish",
                    f"the broker at {redact(self.broker)} is unreachable ({first_line(exc)}); "
                    "the run waits for it",
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self._pause("publish", None)
            return

    def _pause(self, key: str, reason: str | None) -> None:
        """Report a pause when its first cause appears and the end when the last clears."""
        before = "; ".join(self.paused.values()) or None
        if reason is None:
            self.paused.pop(key, None)
        else:
            self.paused[key] = reason
        after = "; ".join(self.paused.values()) or None
        if after == before:
            return
        if after is not None:
            log.info("run %s paused: %s", self.run_id, after)
        else:
            log.info("run %s continues", self.run_id)
        try:
            registry().manager.hook.evoforge_run_paused(run_id=self.run_id, reason=after)
        except Exception:
            log.exception("an evoforge_run_paused hook failed; the run goes on")

    # -- stopping ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Revoke what has not started; evaluations already running finish and are
        stored by their workers, so `resume` does not repeat them."""
        ids = self.watcher.in_flight()
        if not ids:
            return
        try:
            self.app.control.revoke(ids)
        except self._errors as exc:
            log.warning("could not revoke %d queued evaluation(s): %s", len(ids), first_line(exc))

    async def aclose(self) -> None:
        await self.watcher.close()
        self.app.close()
