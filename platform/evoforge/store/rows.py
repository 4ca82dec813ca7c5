"""What the repository returns, besides `CandidateView`s and JSON-safe dicts.

Callers never get ORM objects, so nothing lazy-loads after its session has closed
and nothing writes by accident. Candidates come back as `evoforge.proposals.
CandidateView` (what strategies and proposers already take); summaries, details and
lineage as dicts ready for `json.dumps`; a run to resume as a `RunRecord`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evoforge.proposals import CandidateView
from evoforge.task import Task


@dataclass(frozen=True)
class RunRecord:
    """A run with what resuming it needs: the task snapshot and the run options."""

    id: str
    task_name: str
    task_source: str
    direction: str
    status: str
    stop_reason: str
    seed: int | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    best_candidate_id: str | None
    best_score: float | None
    seed_score: float | None
    candidate_count: int
    evaluation_count: int
    task_json: dict[str, Any] = field(default_factory=dict)
    config_json: dict[str, Any] = field(default_factory=dict)

    def task(self) -> Task:
        """The task as it was when the run started, without its plugin installed."""
        return Task.model_validate(self.task_json)


@dataclass(frozen=True)
class EdgeRow:
    """`child_id` came from `parent_id` as its parent, an inspiration or a crossover mate."""

    child_id: str
    parent_id: str
    kind: str


LOG_TAIL_CHARS = 2_000
"""How much of an evaluation's stderr a view carries: enough for a traceback in a
proposer's prompt, little enough that replaying a long run stays cheap."""


def fitness(direction: str, status: str, score: float | None) -> float:
    """Direction-adjusted score, larger is better; anything but a valid score is worst."""
    if status != "ok" or score is None:
        return -math.inf
    return score if direction == "maximize" else -score


def candidate_view(
    *,
    id: str,
    files: dict[str, str],
    direction: str,
    status: str,
    score: float | None = None,
    metrics: dict[str, Any] | None = None,
    feedback: str = "",
    generation: int = 0,
    island: int = 0,
    parent_id: str | None = None,
    seq: int = 0,
    kind: str = "mutation",
    reason: str = "",
    log_tail: str = "",
    instance_scores: dict[str, float] | None = None,
    stage: str | None = None,
) -> CandidateView:
    """A strategy's view of a stored candidate; `status` is "pending" until evaluated,
    then the evaluation's status. `log_tail` is already cut to `LOG_TAIL_CHARS` by
    the query that read it."""
    return CandidateView(
        id=id,
        files=dict(files),
        score=score,
        fitness=fitness(direction, status, score),
        status=status,
        metrics=dict(metrics or {}),
        feedback=feedback,
        generation=generation,
        island=island,
        parent_id=parent_id,
        seq=seq,
        kind=kind,
        reason=reason,
        log_tail=log_tail,
        instance_scores=instance_scores,
        stage=stage,
    )


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
