"""What a user gets wrong setting up a distributed run is refused in one line, and
the parts that make re-delivery safe behave as documented."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli

from evoforge.config import build_config
from evoforge.executors.distributed.gpu_locks import GpuLocks
from evoforge.executors.distributed.settings import (
    BrokerConfigError,
    queue_for,
    resolve_broker,
    time_limits,
)
from evoforge.store import Repository, open_database
from evoforge.task import Resources


def one_line_error(result, *needles: str) -> str:  # noqa: ANN001 - CompletedProcess
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in message, message
    return message


def test_queues_follow_what_the_evaluation_needs() -> None:
    assert queue_for(Resources()) == "cpu"
    assert queue_for(Resources(gpus=1)) == "gpu"
    assert queue_for(Resources(gpus=1, queue="h100")) == "h100"
    assert queue_for(Resources(queue="h100"), override="all") == "all"


def test_celery_time_limits_sit_above_the_sandbox_deadline() -> None:
    limits = time_limits(Resources(timeout_s=30))
    assert 30 < limits.soft_s < limits.hard_s


def test_the_broker_comes_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVOFORGE_BROKER", raising=False)
    with pytest.raises(BrokerConfigError, match="EVOFORGE_BROKER"):
        resolve_broker(None)
    with pytest.raises(BrokerConfigError, match="not a Redis URL"):
        resolve_broker("amqp://localhost//")
    with pytest.raises(BrokerConfigError, match="password"):
        resolve_broker("redis://:hunter2@localhost:6379/0")
    monkeypatch.setenv("EVOFORGE_BROKER", "redis://:hunter2@localhost:6379/0")
    assert resolve_broker(None) == "redis://:hunter2@localhost:6379/0"
    assert resolve_broker("redis://:pw@h:1/0", stored=False) == "redis://:pw@h:1/0"


def test_a_broker_option_selects_the_celery_executor() -> None:
    config = build_config({}, {"broker": "redis://localhost:6379/0"})
    assert config.executor == "celery"
    assert config.executor_options == {"broker": "redis://localhost:6379/0"}
    assert build_config({}, {"broker": "redis://h/0", "executor": "local"}).executor == "local"


def test_an_unreachable_broker_refuses_the_run_and_stores_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = run_cli(
        "run", "circle_packing", "--broker", "redis://127.0.0.1:1/0", "--db", db,
        "--max-evaluations", "2",
    )  # fmt: skip
    one_line_error(result, "broker at redis://127.0.0.1:1/0 is unreachable", "start Redis")
    with open_database(db) as database:
        assert Repository(database).list_runs() == []


def test_a_broker_password_on_the_command_line_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "run", "circle_packing", "--broker", "redis://:secret@127.0.0.1:1/0",
        "--db", f"sqlite:///{tmp_path / 'store.db'}",
    )  # fmt: skip
    message = one_line_error(result, "set EVOFORGE_BROKER")
    assert "secret" not in message


def test_a_visibility_timeout_shorter_than_an_evaluation_is_refused(
    tmp_path: Path, redis_server
) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[executor_options]\nvisibility_timeout = 30\n")
    result = run_cli(
        "run", "circle_packing", "--broker", redis_server.url, "--config", str(config),
        "--eval-timeout", "60", "--db", f"sqlite:///{tmp_path / 'store.db'}",
    )  # fmt: skip
    one_line_error(result, "visibility timeout (30 s)", "--visibility-timeout")


def test_a_worker_taking_the_gpu_queue_without_gpus_refuses_to_start(tmp_path: Path) -> None:
    result = run_cli(
        "worker", "--queues", "cpu,gpu", "--gpus", "", "--broker", "redis://127.0.0.1:1/0",
        "--db", f"sqlite:///{tmp_path / 'store.db'}",
    )  # fmt: skip
    one_line_error(result, "no GPUs", "--gpus 0,1")


def test_a_worker_on_another_store_fails_the_run_naming_db(
    tmp_path: Path, redis_server, start_worker
) -> None:
    start_worker("elsewhere@test", broker=redis_server.url, db=f"sqlite:///{tmp_path / 'w.db'}")
    result = run_cli(
        "run", "circle_packing", "--broker", redis_server.url,
        "--db", f"sqlite:///{tmp_path / 'orchestrator.db'}", "--max-evaluations", "2",
    )  # fmt: skip
    one_line_error(result, "elsewhere@test", "start workers with the orchestrator's --db")


def _hold_forever(folder: str, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    with GpuLocks([0], Path(folder)).hold():
        ready.set()
        time.sleep(60)


def test_a_gpu_held_by_another_process_waits_and_is_freed_when_that_process_is_killed(
    tmp_path: Path,
) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_forever, args=(str(tmp_path), ready))
    holder.start()
    assert ready.wait(30)
    locks = GpuLocks([0], tmp_path)
    with pytest.raises(TimeoutError), locks.hold(timeout_s=0.3):
        pass
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    with locks.hold(timeout_s=5) as gpu:
        assert gpu == 0
