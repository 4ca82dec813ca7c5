"""What proposers receive and return.

Strategies and proposers see candidates as `CandidateView`s: plain snapshots taken
from the store, so neither touches the database nor each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evoforge.task import Task


@dataclass(frozen=True)
class CandidateView:
    id: str
    files: dict[str, str]
    score: float | None
    fitness: float
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    feedback: str = ""
    generation: int = 0
    island: int = 0
    parent_id: str | None = None
    seq: int = 0
    kind: str = "mutation"


@dataclass
class ProposalRequest:
    task: Task
    parent: CandidateView
    inspirations: list[CandidateView] = field(default_factory=list)
    crossover_with: CandidateView | None = None
    recent_failures: list[CandidateView] = field(default_factory=list)
    seed: int = 0
    generation: int = 1
    island: int = 0


@dataclass
class ProposerCall:
    """One call to a model (or any costed service) made while proposing."""

    model: str
    prompt: str = ""
    response: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str = ""


@dataclass
class Proposal:
    files: dict[str, str]
    kind: str = "mutation"  # mutation | rewrite | crossover
    note: str = ""
    calls: list[ProposerCall] = field(default_factory=list)


class ProposalRejected(Exception):
    """The proposer could not produce a usable child; the reason is recorded.

    Raise it for an invalid diff from a model, an edit outside the evolve blocks, a
    no-op, or an artifact with nothing to mutate. `calls` keeps the cost of trying.
    """

    def __init__(self, reason: str, calls: list[ProposerCall] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.calls = calls or []
