"""The shapes plugin classes must have. Hooks in `hookspecs` return these classes.

Every class is built by the platform with keyword options from the run config, so a
third-party class needs no knowledge of the orchestrator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.proposals import CandidateView, Proposal, ProposalRequest
from evoforge.task import Task


@runtime_checkable
class Proposer(Protocol):
    """Built as `cls(task=task, **options)`."""

    name: ClassVar[str]

    async def propose(self, request: ProposalRequest) -> Proposal:
        """Return a child, or raise `ProposalRejected` with the reason.

        Raise `ProposerUnavailable` only for what no retry can fix (a missing key):
        it stops the run with its message.
        """
        ...

    # Optional: `observe(candidate: CandidateView)` is called with every evaluated
    # candidate, so a proposer can learn which of its choices paid off (the LLM
    # proposer's bandit does).


@dataclass(frozen=True)
class Screen:
    """Judge the child on these training instances first (keys of the parent's
    `instance_scores`); it goes on to the full set only if its score there reaches
    `floor`."""

    instances: list[str]
    floor: float


@dataclass
class Selection:
    parent: CandidateView
    island: int = 0
    inspirations: list[CandidateView] = field(default_factory=list)
    crossover_with: CandidateView | None = None
    screen: Screen | None = None


@runtime_checkable
class SearchStrategy(Protocol):
    """Built as `cls(task=task, seed_candidate=view, **options)`.

    State lives in memory and is rebuilt on resume by `admit`-ing the stored
    evaluated candidates in evaluation order, so strategies need no tables of their own.
    """

    name: ClassVar[str]

    def select(self, rng: random.Random) -> Selection:
        """Pick the parent (and context) for the next proposal."""
        ...

    def admit(self, candidate: CandidateView) -> None:
        """Take an evaluated candidate into the population (or not)."""
        ...


@runtime_checkable
class Sandbox(Protocol):
    """Built as `cls(**options)`; `run` is called from worker threads concurrently."""

    name: ClassVar[str]

    def check(self) -> None:
        """Raise `SandboxUnavailable` naming the fix if this sandbox cannot run here."""
        ...

    def run(self, job: EvaluationJob) -> EvaluationOutcome:
        """Evaluate one candidate; never raises for anything the candidate did."""
        ...

    # Optional: `cancel_all()` kills every evaluation in flight (used on Ctrl-C), and
    # `check_task(task)` raises `SandboxUnavailable` before a run starts when this
    # sandbox lacks what the task needs (the docker sandbox: the task's image).


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine; the message says how to fix that."""


class ExecutorUnavailable(RuntimeError):
    """The executor cannot dispatch as configured (no broker, a worker refusing the
    run's jobs); the message says how to fix that."""


@runtime_checkable
class Executor(Protocol):
    """Built as `cls(slots=E, sandbox_options=..., **options)`."""

    name: ClassVar[str]

    async def evaluate(self, job: EvaluationJob) -> EvaluationOutcome:
        """Run one job somewhere and return its outcome."""
        ...

    async def aclose(self) -> None: ...

    # Optional: `cancel()` kills the evaluations in flight (used on Ctrl-C); their
    # candidates stay pending in the store and `resume` evaluates them. `check(sandbox)`
    # and `check_task(task, sandbox)` raise a one-line refusal before a run starts.


def describe(obj: Any) -> str:
    """Where a plugin class comes from, for error messages and `evoforge plugins`."""
    module = getattr(obj, "__module__", "?")
    return f"{module}.{getattr(obj, '__qualname__', type(obj).__name__)}"


__all__ = [
    "Executor",
    "ExecutorUnavailable",
    "Proposer",
    "Sandbox",
    "SandboxUnavailable",
    "Screen",
    "SearchStrategy",
    "Selection",
    "Task",
    "describe",
]
