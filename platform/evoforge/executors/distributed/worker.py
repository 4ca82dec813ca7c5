"""Starting a Celery worker that evaluates evoforge jobs (`evoforge worker`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evoforge.executors.distributed import worker_task
from evoforge.executors.distributed.settings import (
    DEFAULT_VISIBILITY_TIMEOUT_S,
    GPU_QUEUE,
    TASK_NAME,
    make_app,
    resolve_broker,
)
from evoforge.executors.distributed.worker_task import StoreUnreachable, evaluate_message
from evoforge.executors.gpu_slots import GpuUnavailable
from evoforge.secret_values import remember, remember_url
from evoforge.store.database import open_database

if TYPE_CHECKING:
    from celery import Celery

STORE_RETRIES = 10


def worker_app(broker: str, visibility_timeout_s: float = DEFAULT_VISIBILITY_TIMEOUT_S) -> Celery:
    """The app a worker runs: the shared settings plus the evaluation task itself."""
    app = make_app(broker, visibility_timeout_s)

    @app.task(
        name=TASK_NAME,
        bind=True,
        autoretry_for=(StoreUnreachable,),
        retry_backoff=5,
        retry_backoff_max=300,
        max_retries=STORE_RETRIES,
    )
    def evaluate(self: Any, job: dict[str, Any], sandbox_options: dict[str, Any]) -> dict[str, Any]:
        return evaluate_message(job, sandbox_options, self.request.hostname or "")

    return app


def run_worker(
    *,
    queues: Sequence[str],
    concurrency: int,
    gpus: list[int],
    broker: str | None,
    db: str | None,
    name: str | None = None,
    visibility_timeout_s: float = DEFAULT_VISIBILITY_TIMEOUT_S,
    loglevel: str = "INFO",
) -> None:
    """Check what can be checked here (store, GPUs), then hand over to Celery.

    The store is opened (and migrated) once before the pool forks, so a wrong --db is
    one line now rather than a failure per evaluation; the pool processes open their
    own connections afterwards.
    """
    url = resolve_broker(broker, stored=False)
    if concurrency < 1:
        raise ValueError("--concurrency must be at least 1")
    if GPU_QUEUE in queues and not gpus:
        raise GpuUnavailable(
            f"this worker takes the {GPU_QUEUE!r} queue but has no GPUs: pass --gpus 0,1 "
            f"or leave {GPU_QUEUE!r} out of --queues"
        )
    # Before the pool forks, so every pool process knows them: the broker's and the
    # store's passwords never reach the store in a candidate's output.
    remember_url(url)
    with open_database(db) as database:
        remember(database.engine.url.password)
    worker_task.SETTINGS.db_url = db
    worker_task.SETTINGS.gpus = list(gpus)
    app = worker_app(url, visibility_timeout_s)
    argv = [
        "worker",
        f"--queues={','.join(queues)}",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        f"--loglevel={loglevel}",
        # Workers need no gossip or start-up sync with each other: the broker and the
        # store are the shared state.
        "--without-gossip",
        "--without-mingle",
    ]
    if name:
        argv.append(f"--hostname={name}")
    app.worker_main(argv)
