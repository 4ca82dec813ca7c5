"""The Python API: everything the CLI does, as plain calls.

>>> from evoforge import run_task
>>> outcome = run_task("circle_packing", max_evaluations=50, seed=1)
>>> outcome.best_score, outcome.run_id
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evoforge.config import ConfigError, RunConfig, build_config
from evoforge.folder_tasks import is_task_folder, load_task_folder
from evoforge.orchestrator.loop import Orchestrator
from evoforge.plugin_manager import PluginError, registry
from evoforge.proposals import ProposerUnavailable
from evoforge.store.database import Database, open_database
from evoforge.store.repository import Repository
from evoforge.task import Task


@dataclass
class RunOutcome:
    run_id: str
    best_score: float | None
    best_files: dict[str, str]
    summary: dict[str, Any]


def resolve_task(name_or_folder: str | Path | Task) -> Task:
    """A registered task by name, or a task folder by path."""
    if isinstance(name_or_folder, Task):
        return name_or_folder
    text = str(name_or_folder)
    path = Path(text)
    tasks = registry().tasks()
    if text in tasks and not path.exists():
        return tasks[text]
    if path.exists():
        if not is_task_folder(path):
            raise PluginError(
                f"{path} is not a task folder: add task.toml (or OpenEvolve's evaluator.py "
                "and initial_program.*)"
            )
        return load_task_folder(path)
    known = ", ".join(sorted(tasks)) or "none"
    raise PluginError(f"no task or folder named {text!r}; registered tasks: {known}")


def create_run(task: Task, config: RunConfig, database: Database) -> str:
    """Store a new run; the task is snapshotted so resuming never needs the plugin again."""
    if config.eval_timeout_s is not None:
        resources = task.resources.model_copy(update={"timeout_s": config.eval_timeout_s})
        task = task.model_copy(update={"resources": resources})
    registry().lookup("strategies", config.strategy)
    check_proposer(task, config)
    registry().lookup("executors", config.executor)
    registry().lookup("sandboxes", config.sandbox)
    return Repository(database).create_run(task, config.model_dump(mode="json"), config.seed)


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


def execute_run(database: Database, run_id: str) -> RunOutcome:
    """Run (or resume) a stored run to the end of its budget."""
    summary = asyncio.run(Orchestrator(database, run_id).run())
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
    """Run a task end to end; options are RunConfig or Budget fields (e.g. max_evaluations)."""
    resolved = resolve_task(task)
    run_config = build_config(config or {}, options)
    database = open_database(db)
    run_id = create_run(resolved, run_config, database)
    return execute_run(database, run_id)


def resume_run(run_id: str, *, db: str | None = None) -> RunOutcome:
    """Continue a run that was interrupted or killed, from what the store holds."""
    database = open_database(db)
    Repository(database).get_run(run_id)  # clear error for an unknown id
    return execute_run(database, run_id)
