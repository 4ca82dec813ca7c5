"""Which of a task's objectives a run is judged by.

A task with several objectives (kernel tasks: `speedup` on a GPU, `correctness` on
the CPU) is judged by the one the user names, or else by the first one this run's
executor can give what it needs. The choice is made once, before the run is stored,
and kept in the run's task snapshot, so `resume` never re-decides it.
"""

from __future__ import annotations

from collections.abc import Callable

from evoforge.config import ConfigError
from evoforge.executors.gpu_slots import GpuUnavailable
from evoforge.task import Task


def select_objective(task: Task, requested: str | None, check: Callable[[Task], None]) -> Task:
    """The task as this run will judge it; `check` raises if the executor cannot run it.

    A named objective the executor cannot run is refused with a hint at one it can;
    with none named, objectives that need a GPU the executor lacks are passed over.
    """
    if not task.objectives:
        if requested is not None:
            raise ConfigError(f"task {task.name!r} has no objectives to choose; drop --objective")
        check(task)
        return task
    if requested is None and task.objective_name is not None:
        check(task)
        return task
    if requested is not None:
        try:
            chosen = task.with_objective(requested)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        try:
            check(chosen)
        except GpuUnavailable as exc:
            raise GpuUnavailable(_gpu_refusal(task, requested, exc)) from None
        return chosen
    refusals: list[GpuUnavailable] = []
    for name in task.objectives:
        chosen = task.with_objective(name)
        try:
            check(chosen)
        except GpuUnavailable as exc:
            refusals.append(exc)
            continue
        return chosen
    raise refusals[0]


def _gpu_refusal(task: Task, name: str, exc: GpuUnavailable) -> str:
    without_gpu = [n for n, o in task.objectives.items() if o.gpus == 0]
    hint = f", or choose --objective {without_gpu[0]}" if without_gpu else ""
    return f"objective {name!r} is measured on a GPU: {exc}{hint}"
