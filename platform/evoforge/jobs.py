"""The unit of work that crosses process and machine boundaries.

An `EvaluationJob` is everything a sandbox needs to evaluate one candidate, and an
`EvaluationOutcome` is everything the store keeps about it. Both are JSON-safe so
the local executor and a Celery worker hand the same objects to the same sandbox.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from evoforge.task import CandidateArgument, Resources, Stage, Task
from evoforge.untrusted import checked_report

EvaluationStatus = Literal["ok", "invalid", "failed", "timeout", "crashed"]
EVALUATION_STATUSES: tuple[str, ...] = ("ok", "invalid", "failed", "timeout", "crashed")


class EvaluationJob(BaseModel):
    run_id: str
    candidate_id: str
    task_name: str
    files: dict[str, str]
    primary: str
    evaluate: str
    candidate_argument: CandidateArgument = "auto"
    metric: str = "score"
    score_excludes: list[str] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    instances: list[Any] | None = None
    resources: Resources = Field(default_factory=Resources)
    python_path: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    warm_imports: list[str] = Field(default_factory=list)
    sandbox: str = "process"
    gpu_slot: int | None = None
    split: str | None = None
    """`validation` or `test` for a split score (stored apart, never seen by the
    search); None for the training evaluation."""

    @classmethod
    def for_candidate(
        cls, task: Task, run_id: str, candidate_id: str, files: dict[str, str], sandbox: str
    ) -> EvaluationJob:
        return cls(
            run_id=run_id,
            candidate_id=candidate_id,
            task_name=task.name,
            files=files,
            primary=task.primary,
            evaluate=task.evaluate,
            candidate_argument=task.candidate_argument,
            metric=task.metric,
            score_excludes=task.score_excludes,
            stages=task.stages,
            instances=task.instances,
            resources=task.resources,
            python_path=task.python_path,
            env=task.env,
            warm_imports=task.warm_imports,
            sandbox=sandbox,
        )


class EvaluationOutcome(BaseModel):
    status: EvaluationStatus
    score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    instance_scores: dict[str, float] | None = None
    feedback: str = ""
    artifacts: dict[str, str] = Field(default_factory=dict)
    reason: str = ""
    stage: str | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    host: str = ""
    sandbox: str = ""

    @model_validator(mode="before")
    @classmethod
    def _untrusted(cls, data: Any) -> Any:
        """Whatever a sandbox reports may be the candidate's: bound its nesting, and
        an `ok` without a real, finite score is `invalid` (evoforge.untrusted)."""
        return checked_report(data) if isinstance(data, dict) else data
