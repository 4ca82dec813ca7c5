"""The Python API: everything the CLI does, as plain calls.

>>> from evoforge import run_task
>>> outcome = run_task("circle_packing", max_evaluations=50, seed=1)
>>> outcome.best_score, outcome.run_id
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evoforge.config import ConfigError, RunConfig, build_config, layer_task_defaults
from evoforge.executors.gpu_slots import parse_gpus
from evoforge.folder_tasks import load_task_folder
from evoforge.interrupts import held_interrupts, stop_interrupted
from evoforge.objectives import select_objective
from evoforge.orchestrator.loop import Orchestrator, check_executor, new_executor
from evoforge.plugin_manager import PluginError, registry
from evoforge.proposals import ProposerUnavailable
from evoforge.public_protocol import with_public
from evoforge.store.database import Database, open_database
from evoforge.store.errors import StoreError
from evoforge.store.repository import Repository
from evoforge.task import Task


@dataclass
class RunOutcome:
    run_id: str
    best_score: float | None
    best_files: dict[str, str]
    summary: dict[str, Any]


def resolve_task(name_or_folder: str | Path | Task, openevolve_config: Path | None = None) -> Task:
    """A registered task by name, or a task folder by path (`openevolve_config`
    replaces an OpenEvolve folder's own `config.yaml`)."""
    if isinstance(name_or_folder, Task):
        return name_or_folder
    text = str(name_or_folder)
    path = Path(text)
    tasks = registry().tasks()
    if text in tasks and not path.exists():
        return tasks[text]
    if path.exists():
        if not path.is_dir():
            raise PluginError(f"{path} is not a task folder: give the folder that holds it")
        # A folder matching no layout: the error lists them all.
        return load_task_folder(path, openevolve_config)
    known = ", ".join(sorted(tasks)) or "none"
    raise PluginError(f"no task or folder named {text!r}; registered tasks: {known}")


def settings_notes(task: Task, proposer: str | None) -> list[str]:
    """What a run should say once about its folder's own config: the settings it
    ignores, and models it will not call unless asked to."""
    notes = []
    if task.settings_ignored:
        notes.append(
            f"{task.name}: config settings with no meaning in evoforge, ignored: "
            + ", ".join(task.settings_ignored)
        )
    models = [m.get("model", "") for m in task.run_defaults.get("llm", {}).get("models", [])]
    if models and proposer != "llm":
        notes.append(
            f"{task.name}: its config names models ({', '.join(models)}); this run uses the "
            f"offline proposer: add --proposer llm (or --model) to call them"
        )
    return notes


def create_run(task: Task, config: RunConfig, database: Database) -> str:
    """Store a new run; the task is snapshotted so resuming never needs the plugin again."""
    return store_run(prepare_run(task, config), config, database)


def prepare_run(task: Task, config: RunConfig) -> Task:
    """The task as the run will keep it (objective chosen, timeout and env applied),
    once every check that may refuse the run has passed; stores nothing, so Ctrl-C or
    a refusal here leaves nothing behind."""
    registry().lookup("strategies", config.strategy)
    registry().lookup("executors", config.executor)
    registry().lookup("sandboxes", config.sandbox)

    def timed(candidate: Task) -> Task:
        if config.eval_timeout_s is None:
            return candidate
        resources = candidate.resources.model_copy(update={"timeout_s": config.eval_timeout_s})
        return candidate.model_copy(update={"resources": resources})

    chosen = select_objective(task, config.objective, lambda t: refuse(timed(t), config))
    task = with_public(timed(chosen), config.public, config.train_on)
    if config.task_env:
        task = task.model_copy(update={"env": {**task.env, **config.task_env}})
    check_proposer(task, config)
    return task


def store_run(task: Task, config: RunConfig, database: Database) -> str:
    """Store a run `prepare_run` accepted; returns its id. Hold Ctrl-C around this
    call and the assignment of its result (`held_interrupts`), so a press cannot fall
    between the commit and the code that would mark the run stopped."""
    return Repository(database).create_run(task, config.model_dump(mode="json"), config.seed)


def refuse(task: Task, config: RunConfig) -> None:
    """Let the executor refuse the run (sandbox unusable here, a GPU task but no GPU)
    before it is stored, so a refused run leaves nothing behind to resume.

    The checks run outside any event loop: asyncio turns Ctrl-C into a cancellation
    that waits for the next `await`, and a probe child killed by the same Ctrl-C
    would meanwhile read as "the sandbox cannot run here"."""
    executor = new_executor(config)
    try:
        check_executor(executor, config, task)
    finally:
        asyncio.run(executor.aclose())


def check_run(
    database: Database, run_id: str, executor_options: dict[str, Any] | None = None
) -> None:
    """The same refusal for a stored run about to be resumed (on this machine, with
    these executor options), raised before any progress is shown."""
    stored = Orchestrator(database, run_id, executor_options)
    refuse(stored.task, stored.config)


def check_proposer(task: Task, config: RunConfig) -> None:
    """Build the run's proposer once, so bad options or a missing key stop the run
    before it starts (and before the options are stored), with one line naming the fix."""
    proposer = registry().lookup("proposers", config.proposer)
    try:
        proposer(task=task, **config.proposer_options)
    except ProposerUnavailable:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"proposer {config.proposer!r}: {exc}") from None


def execute_run(
    database: Database, run_id: str, executor_options: dict[str, Any] | None = None
) -> RunOutcome:
    """Run (or resume) a stored run to the end of its budget.

    `executor_options` override the stored ones for this session (e.g. `{"gpus": [1]}`
    when resuming on another machine).
    """
    try:
        summary = asyncio.run(Orchestrator(database, run_id, executor_options).run())
    except KeyboardInterrupt:
        # Also when Ctrl-C came before the loop could mark the run itself.
        with contextlib.suppress(StoreError):  # a busy store must not hide the Ctrl-C
            stop_interrupted(database, run_id)
        raise
    return _outcome(database, run_id, summary)


def _outcome(database: Database, run_id: str, summary: dict[str, Any]) -> RunOutcome:
    repo = Repository(database)
    best = repo.best_candidate(run_id)
    return RunOutcome(
        run_id=run_id,
        best_score=summary.get("best_score"),
        best_files=dict(best.files) if best else {},
        summary=summary,
    )


def run_task(
    task: str | Path | Task,
    *,
    db: str | None = None,
    config: dict[str, Any] | None = None,
    **options: Any,
) -> RunOutcome:
    """Run a task end to end; options are RunConfig or Budget fields (e.g. max_evaluations),
    or `gpus` (ids like `[0, 1]` or `"0,1"`; empty for none; default: this machine's)."""
    resolved = resolve_task(task)
    for note in settings_notes(resolved, options.get("proposer") or (config or {}).get("proposer")):
        warnings.warn(note, stacklevel=2)
    base = layer_task_defaults(resolved.run_defaults, config or {}, options.get("proposer"))
    run_config = build_config(base, options)
    database = open_database(db)
    prepared = prepare_run(resolved, run_config)
    run_id = None
    try:
        with held_interrupts():
            run_id = store_run(prepared, run_config, database)
        return execute_run(database, run_id)
    except KeyboardInterrupt:
        if run_id is not None:
            with contextlib.suppress(StoreError):
                stop_interrupted(database, run_id)
        raise


def resume_run(
    run_id: str, *, db: str | None = None, gpus: str | list[int] | None = None
) -> RunOutcome:
    """Continue a run that was interrupted or killed, from what the store holds.

    `gpus` replaces the run's GPU ids for this session; None keeps the stored choice.
    """
    database = open_database(db)
    Repository(database).get_run(run_id)  # clear error for an unknown id
    return execute_run(database, run_id, gpu_executor_options(gpus))


def gpu_executor_options(gpus: str | list[int] | None) -> dict[str, Any] | None:
    """The executor options a `gpus` argument stands for (None: leave them as stored)."""
    if gpus is None:
        return None
    try:
        return {"gpus": parse_gpus(gpus)}
    except ValueError as exc:
        raise ConfigError(f"gpus {gpus!r}: {exc}") from None
