"""What a Celery worker does with one evaluation message.

The worker stores the evaluation in the run's SQL store itself, before the message
is acknowledged, and returns what the store then holds. That order is what makes
re-delivery safe:

* a worker lost mid-evaluation stored nothing, so the re-delivered message runs
  the evaluation again, elsewhere;
* a worker lost after storing (or whose acknowledgement a broker restart swallowed)
  is answered from the store when its message comes back: nothing runs twice;
* two copies racing (a message re-delivered while the first worker still ran it)
  both return the one evaluation `record_evaluation` kept.

Only infrastructure is retried: the store being unreachable. A candidate that
crashes, hangs or cheats is an outcome like any other, stored once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from evoforge.evaluation import SandboxCache, evaluate_job
from evoforge.executors.distributed.gpu_locks import GpuLocks
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.secret_values import remember, scrub_outcome
from evoforge.store.database import Database, open_database
from evoforge.store.errors import StoreError, StoreUnavailable
from evoforge.store.repository import Repository

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_RETRY_S = 120.0
"""How long a worker keeps trying to store a finished evaluation before it gives the
message back for a later retry (the evaluation is then run again)."""


class WrongStore(RuntimeError):
    """The worker's store does not hold the run it was sent; never retried."""


class StoreUnreachable(RuntimeError):
    """The store did not answer for `STORE_RETRY_S`; Celery retries the message."""


@dataclass
class WorkerSettings:
    """Set by `evoforge worker` before the pool forks, so every pool process has it."""

    db_url: str | None = None
    gpus: list[int] = field(default_factory=list)


SETTINGS = WorkerSettings()


@dataclass
class _ProcessState:
    """Per pool process: connections and sandboxes must not cross a fork."""

    pid: int
    database: Database
    repo: Repository
    sandboxes: dict[str, SandboxCache]
    gpus: GpuLocks


_state: _ProcessState | None = None


def _process_state() -> _ProcessState:
    global _state
    if _state is None or _state.pid != os.getpid():
        # The store's own retries wait as long as this worker would, then hand back.
        database = open_database(SETTINGS.db_url, patience_s=STORE_RETRY_S)
        remember(database.engine.url.password)
        _state = _ProcessState(
            pid=os.getpid(),
            database=database,
            repo=Repository(database),
            sandboxes={},
            gpus=GpuLocks(SETTINGS.gpus),
        )
    return _state


def _sandboxes(state: _ProcessState, options: dict[str, Any]) -> SandboxCache:
    """One cache per distinct set of sandbox options (runs may differ in theirs)."""
    key = json.dumps(options, sort_keys=True, default=str)
    if key not in state.sandboxes:
        state.sandboxes[key] = SandboxCache(options)
    return state.sandboxes[key]


def evaluate_message(
    job_data: dict[str, Any], sandbox_options: dict[str, Any], worker: str
) -> dict[str, Any]:
    """Evaluate (or answer from the store) one job; returns the stored outcome as JSON."""
    state = _process_state()
    job = EvaluationJob.model_validate(job_data)
    if job.split is not None:
        return _split_score(state, job, sandbox_options, worker)
    stored = _stored(state, job, worker)
    if stored is not None:
        log.info("candidate %s was already evaluated; answering from the store", job.candidate_id)
        return stored.model_dump(mode="json")
    outcome = _evaluate(state, job, sandbox_options)
    outcome = outcome.model_copy(update={"host": worker or outcome.host or socket.gethostname()})
    outcome = scrub_outcome(outcome)  # with this machine's secrets, before storing
    if _store(state, job, outcome):
        return outcome.model_dump(mode="json")
    # Another delivery of this job stored first: report the evaluation that was kept.
    kept = _stored(state, job, worker)
    assert kept is not None, "an evaluation stored by another delivery must read back"
    return kept.model_dump(mode="json")


def _split_score(
    state: _ProcessState, job: EvaluationJob, sandbox_options: dict[str, Any], worker: str
) -> dict[str, Any]:
    """A validation or test score: stored in its own table (never as the candidate's
    evaluation, which the search reads); a second delivery keeps the first one."""
    assert job.split is not None
    _stored(state, job, worker)  # the candidate must be in this worker's store
    outcome = _evaluate(state, job, sandbox_options)
    outcome = outcome.model_copy(update={"host": worker or outcome.host or socket.gethostname()})
    outcome = scrub_outcome(outcome)  # with this machine's secrets, before storing
    _retrying(lambda: state.repo.record_split_score(job.candidate_id, job.split, outcome))
    return outcome.model_dump(mode="json")


def _evaluate(
    state: _ProcessState, job: EvaluationJob, sandbox_options: dict[str, Any]
) -> EvaluationOutcome:
    sandboxes = _sandboxes(state, sandbox_options)
    if job.resources.gpus <= 0:
        return evaluate_job(job.model_copy(update={"gpu_slot": None}), sandboxes)
    try:
        with state.gpus.hold() as gpu:
            return evaluate_job(job.model_copy(update={"gpu_slot": gpu}), sandboxes)
    except LookupError as exc:
        return EvaluationOutcome(
            status="crashed",
            reason=f"sent to a worker without GPUs: {exc}",
            sandbox=job.sandbox,
        )


def _stored(state: _ProcessState, job: EvaluationJob, worker: str) -> EvaluationOutcome | None:
    try:
        return _retrying(lambda: state.repo.stored_outcome(job.candidate_id))
    except StoreError as exc:
        raise WrongStore(
            f"worker {worker} found no candidate {job.candidate_id} of run {job.run_id} in "
            f"its store {state.database.url}: start workers with the orchestrator's --db "
            f"({exc})"
        ) from None


def _store(state: _ProcessState, job: EvaluationJob, outcome: EvaluationOutcome) -> bool:
    stored = _retrying(lambda: state.repo.record_evaluation(job.candidate_id, outcome))
    if not stored:
        log.info("candidate %s was stored by another delivery first", job.candidate_id)
    return stored


def _retrying(call: Callable[[], T]) -> T:
    """Call the store, waiting out a restart or network blip for `STORE_RETRY_S`."""
    deadline = time.monotonic() + STORE_RETRY_S
    delay = 0.5
    while True:
        try:
            return call()
        except StoreUnavailable as exc:  # the store's own retries ran out: Celery retries
            raise StoreUnreachable(str(exc)) from None
        except OperationalError as exc:  # connection lost or refused, not a bad query
            if time.monotonic() > deadline:
                raise StoreUnreachable(
                    f"the store did not answer for {STORE_RETRY_S:g} s: {exc.orig or exc}"
                ) from None
            log.warning("the store is unreachable (%s); retrying in %.1f s", exc.orig, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
