"""Waiting for Celery results from asyncio, through broker outages.

One watcher polls the result backend for every evaluation in flight with a single
`MGET`, rather than one blocking `AsyncResult.get` per evaluation: a poll costs one
round trip however many evaluations wait, needs no thread per evaluation, and a
broker outage is one error to report and wait out, not E of them. A result is
deleted once read; the evaluation itself is already in the SQL store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evoforge.jobs import EvaluationOutcome
from evoforge.protocols import ExecutorUnavailable

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

READY = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
STALL_S = 30.0
"""Evaluations queued this long with none started likely means no worker takes the
queue (or a broker restart without persistence dropped them)."""
RETRY_MAX_S = 5.0


def broker_errors() -> tuple[type[BaseException], ...]:
    """What a lost Redis raises, through kombu (publishing) or redis-py (results)."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)


@dataclass
class _Waiting:
    future: asyncio.Future[EvaluationOutcome]
    queue: str
    since: float
    started: bool = False


class ResultWatcher:
    def __init__(
        self,
        app: Celery,
        poll_s: float,
        on_pause: Callable[[str, str | None], None],
        stall_s: float = STALL_S,
    ) -> None:
        """`on_pause(key, reason)` is told why results are not arriving (reason None:
        that cause has cleared); `key` separates causes so one clearing does not hide
        another."""
        self.app = app
        self.poll_s = poll_s
        self.on_pause = on_pause
        self.stall_s = stall_s
        self._waiting: dict[str, _Waiting] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_progress = time.monotonic()
        self._errors = broker_errors()

    def expect(self, task_id: str, queue: str) -> asyncio.Future[EvaluationOutcome]:
        """Register before publishing, so a result can never arrive unwatched."""
        future: asyncio.Future[EvaluationOutcome] = asyncio.get_running_loop().create_future()
        self._waiting[task_id] = _Waiting(future, queue, time.monotonic())
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="evoforge-celery-results")
        return future

    def discard(self, task_id: str) -> None:
        self._waiting.pop(task_id, None)

    def in_flight(self) -> list[str]:
        return list(self._waiting)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for waiting in self._waiting.values():
            if not waiting.future.done():
                waiting.future.cancel()
        self._waiting.clear()

    async def _watch(self) -> None:
        delay = self.poll_s
        while self._waiting:
            ids = list(self._waiting)
            try:
                metas = await asyncio.to_thread(self._fetch, ids)
            except self._errors as exc:
                self.on_pause("results", f"cannot read results from the broker ({first_line(exc)})")
                delay = min(max(delay * 2, 0.5), RETRY_MAX_S)
                await asyncio.sleep(delay)
                continue
            self.on_pause("results", None)
            delay = self.poll_s
            for task_id, meta in metas.items():
                self._settle(task_id, meta)
            self._check_stalled()
            await asyncio.sleep(self.poll_s)

    def _fetch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Read the metas of `ids` in one round trip; delete the final ones."""
        backend = self.app.backend
        keys = [backend.get_key_for_task(task_id) for task_id in ids]
        found: dict[str, dict[str, Any]] = {}
        done: list[Any] = []
        for task_id, key, raw in zip(ids, keys, backend.mget(keys), strict=True):
            if raw is None:
                continue
            meta = backend.decode_result(raw)
            found[task_id] = meta
            if meta.get("status") in READY:
                done.append(key)
        if done:
            backend.client.delete(*done)
        return found

    def _settle(self, task_id: str, meta: dict[str, Any]) -> None:
        waiting = self._waiting.get(task_id)
        if waiting is None:
            return
        status = meta.get("status")
        if status == "STARTED":
            if not waiting.started:
                waiting.started = True
                self._last_progress = time.monotonic()
            return
        if status not in READY:
            return
        self._waiting.pop(task_id)
        self._last_progress = time.monotonic()
        if waiting.future.done():
            return
        if status == "SUCCESS":
            try:
                waiting.future.set_result(EvaluationOutcome.model_validate(meta["result"]))
            except Exception as exc:  # a worker of another evoforge version
                waiting.future.set_exception(
                    ExecutorUnavailable(f"a worker returned an unreadable result: {exc}")
                )
            return
        error = meta.get("result")
        reason = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
        waiting.future.set_exception(
            ExecutorUnavailable(f"a worker could not evaluate it ({status}): {reason}")
        )

    def _check_stalled(self) -> None:
        now = time.monotonic()
        if (
            any(w.started for w in self._waiting.values())
            or now - self._last_progress < self.stall_s
        ):
            self.on_pause("stalled", None)
            return
        oldest = min((w.since for w in self._waiting.values()), default=now)
        if now - oldest < self.stall_s:
            return
        queues = sorted({w.queue for w in self._waiting.values()})
        self.on_pause(
            "stalled",
            f"{len(self._waiting)} evaluation(s) queued on {', '.join(queues)} and no worker has "
            f"started one for {self.stall_s:g} s; start one: evoforge worker --queues "
            f"{','.join(queues)}",
        )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
