"""`evoforge worker`: a Celery worker evaluating the jobs of runs on the celery executor."""

from __future__ import annotations

from typing import Annotated

import typer

from evoforge.cli.errors import fail, user_error_types

DEFAULT_VISIBILITY_TIMEOUT_S = 3600.0
"""The worker's default, as `evoforge.executors.distributed.settings` has it (a test
holds them equal); repeated here so `evoforge --help` does not import the executors."""


def worker(
    queues: Annotated[
        str, typer.Option(help="queues to take jobs from, comma-separated: cpu, gpu, or a task's")
    ] = "cpu",
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="evaluations at once (pool processes)")
    ] = 2,
    gpus: Annotated[
        str | None,
        typer.Option(
            help="GPU ids this worker may use, one evaluation per GPU, e.g. 0,1 "
            "(default: CUDA_VISIBLE_DEVICES, else nvidia-smi)"
        ),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(envvar="EVOFORGE_BROKER", help="Redis URL of the Celery broker"),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="EVOFORGE_DB",
            help="SQLAlchemy URL of the runs' store, the same as the orchestrator's",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="worker name, e.g. gpu1@%h (default: celery@HOST)")
    ] = None,
    visibility_timeout: Annotated[
        float,
        typer.Option(
            help="seconds before a job whose worker vanished is delivered again; "
            "must exceed the longest evaluation and match the runs' setting"
        ),
    ] = DEFAULT_VISIBILITY_TIMEOUT_S,
    loglevel: Annotated[str, typer.Option(help="Celery log level")] = "INFO",
) -> None:
    """Evaluate jobs of celery-executor runs in this machine's sandboxes."""
    from evoforge.config import gpu_option
    from evoforge.executors.distributed.worker import run_worker
    from evoforge.executors.gpu_slots import discover_gpus

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    if not wanted:
        fail("--queues names no queue; e.g. --queues cpu,gpu")
    try:
        ids = gpu_option(gpus)
        run_worker(
            queues=wanted,
            concurrency=concurrency,
            gpus=discover_gpus() if ids is None else ids,
            broker=broker,
            db=db,
            name=name,
            visibility_timeout_s=visibility_timeout,
            loglevel=loglevel,
        )
    except Exception as exc:
        if isinstance(exc, (*user_error_types(), ValueError)):
            fail(str(exc))
        raise
