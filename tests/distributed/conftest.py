"""Services for the distributed tests: Redis and PostgreSQL on loopback, real workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import write_folder_task
from support.celery_workers import Worker
from support.redis_server import RedisServer, RedisUnavailable
from support.services import start_service


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_service(RedisServer(tmp_path / "redis").start, RedisUnavailable, "redis-server")
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres) -> str:  # noqa: ANN001 - support.postgres.PostgresServer
    """A fresh PostgreSQL database: the store every machine of a distributed run shares."""
    return postgres.create_database()


StartWorker = Callable[..., Worker]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Start `evoforge worker` processes; all are stopped when the test ends."""
    started: list[Worker] = []

    def start(name: str, *, broker: str, db: str, **options: object) -> Worker:
        worker = Worker(name, broker=broker, db=db, log=tmp_path / f"{name}.log", **options)  # type: ignore[arg-type]
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


SLEEP_TASK = {
    "task.toml": """
        name = "sleepy_{name}"
        objective = "Make X close to 7."
        files = ["program.py"]
        evaluate = "evaluate.py:evaluate"
        direction = "minimize"
        [resources]
        timeout_s = 5
        gpus = {gpus}
    """,
    "program.py": """
        # EVOLVE-BLOCK-START
        X = 3.0
        # EVOLVE-BLOCK-END
    """,
    "evaluate.py": """
        import os
        import runpy
        import time

        from evoforge.result import EvaluationResult

        def evaluate(program_path):
            start = time.time()
            time.sleep({sleep})
            x = runpy.run_path(program_path)["X"]
            return EvaluationResult(
                score=abs(x - 7.0),
                metrics={{
                    "start": start,
                    "end": time.time(),
                    "visible": os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"),
                }},
            )
    """,
}


@pytest.fixture
def sleepy_task(tmp_path: Path) -> Callable[..., Path]:
    """A task folder whose evaluation sleeps `sleep` seconds, then scores X against 7."""

    def make(sleep: float, name: str = "task", gpus: int = 0) -> Path:
        files = {
            file: text.format(sleep=sleep, name=name, gpus=gpus)
            for file, text in SLEEP_TASK.items()
        }
        return write_folder_task(tmp_path, name, files)

    return make
