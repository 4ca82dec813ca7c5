"""The whole public plugin API of evoforge (pluggy project name ``evoforge``).

A plugin is any module or object with functions named like the specs below,
decorated with ``evoforge.hookspecs.hookimpl``. Built-ins are registered through the
``evoforge`` entry-point group exactly like a third-party package::

    [project.entry-points.evoforge]
    my_tasks = "my_package.evoforge_plugin"

Registration hooks are collected from every plugin (no ``firstresult``): each returns
a list, and the platform merges the lists by ``name``; two plugins claiming one name
is an error that names both. Event hooks return nothing and must not raise: an
exception there is reported and the run goes on.

Set ``EVOFORGE_TRACE=1`` to print every hook call with its arguments and results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from evoforge.jobs import EvaluationOutcome
    from evoforge.proposals import CandidateView
    from evoforge.protocols import Executor, Proposer, Sandbox, SearchStrategy
    from evoforge.task import Task

PROJECT = "evoforge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def evoforge_tasks() -> list[Task]:
    """Return the tasks this plugin provides.

    Called whenever tasks are listed or looked up; keep it cheap (read seed files,
    import nothing heavy). Each task's ``evaluate`` must be importable inside the
    sandbox by its reference string.
    """


@hookspec
def evoforge_proposers() -> list[type[Proposer]]:
    """Return proposer classes; each has a class attribute ``name``.

    The platform builds one as ``cls(task=task, **options)`` per run.
    """


@hookspec
def evoforge_search_strategies() -> list[type[SearchStrategy]]:
    """Return search strategy classes; each has a class attribute ``name``.

    Built as ``cls(task=task, seed_candidate=view, **options)`` per run.
    """


@hookspec
def evoforge_sandboxes() -> list[type[Sandbox]]:
    """Return sandbox classes; each has a class attribute ``name``."""


@hookspec
def evoforge_executors() -> list[type[Executor]]:
    """Return executor classes; each has a class attribute ``name``."""


@hookspec
def evoforge_candidate_evaluated(
    run_id: str, candidate: CandidateView, outcome: EvaluationOutcome
) -> None:
    """Called after every evaluation is stored, whatever its status."""


@hookspec
def evoforge_new_best(run_id: str, candidate: CandidateView, outcome: EvaluationOutcome) -> None:
    """Called when a candidate beats the run's best valid score so far."""


@hookspec
def evoforge_run_paused(run_id: str, reason: str | None) -> None:
    """Called when a run stops making progress for a reason outside it (the Celery
    broker is unreachable, no worker takes its queue), and again with ``reason`` None
    once it goes on. Nothing is lost while paused; this only tells the user why."""


@hookspec
def evoforge_run_finished(run_id: str, summary: dict[str, Any]) -> None:
    """Called once when a run stops; ``summary`` is what ``evoforge show --json`` prints."""
