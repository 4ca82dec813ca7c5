"""Budget accounting: the reasons a run stops, checked after every evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evoforge.config import Budget
from evoforge.task import Task


@dataclass
class Progress:
    """What the orchestrator knows about a run's course; rebuilt from the store on resume."""

    evaluations: int = 0
    best_score: float | None = None
    since_improvement: int = 0
    fruitless_proposals: int = 0
    spend_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def stop_reason(budget: Budget, task: Task, progress: Progress) -> str | None:
    """The first limit reached, in words for `show`; None while the run may go on."""
    if budget.max_evaluations is not None and progress.evaluations >= budget.max_evaluations:
        return f"reached max evaluations ({budget.max_evaluations})"
    if budget.target_score is not None and progress.best_score is not None:
        reached = (
            progress.best_score >= budget.target_score
            if task.direction == "maximize"
            else progress.best_score <= budget.target_score
        )
        if reached:
            return f"reached target score {budget.target_score}"
    if budget.max_cost_usd is not None and progress.spend_usd >= budget.max_cost_usd:
        return (
            f"reached the cost limit (${progress.spend_usd:.4f} spent, "
            f"limit ${budget.max_cost_usd:g})"
        )
    if budget.max_wall_s is not None and progress.elapsed() >= budget.max_wall_s:
        return f"reached wall-time limit ({budget.max_wall_s:g} s)"
    if budget.patience is not None and progress.since_improvement >= budget.patience:
        return f"no improvement in {budget.patience} evaluations (patience)"
    return None
