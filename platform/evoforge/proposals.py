"""What proposers receive and return.

Strategies and proposers see candidates as `CandidateView`s: plain snapshots taken
from the store, so neither touches the database nor each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evoforge.task import Task

SCREEN_STAGE = "minibatch"
"""The stage a search strategy's screen runs under (`pareto`'s minibatch): its score
says whether a child earns the full evaluation, and is never the child's result. A
task's own cascade stages are different: where one stops a candidate, its score is
the candidate's result, as in OpenEvolve."""

ProposalStatus = Literal["accepted", "duplicate", "rejected", "failed"]
PROPOSAL_STATUSES: tuple[str, ...] = ("accepted", "duplicate", "rejected", "failed")
"""How a proposal ended: a new child (`accepted`), a child identical to an earlier one
(`duplicate`), an answer that could not be used (`rejected`: a diff that does not
match, an edit outside the evolve blocks, a no-op), or no answer at all (`failed`:
every model call errored or timed out)."""


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
    reason: str = ""
    """Why the evaluation was not `ok` (or why a cascade stopped early); empty if none."""
    log_tail: str = ""
    """The last ~2,000 characters of the evaluation's stderr, for the proposer's prompt."""
    instance_scores: dict[str, float] | None = None
    """Training score per instance, for strategies that keep instance specialists."""
    stage: str | None = None
    """The cascade stage the evaluation stopped at (None: it ran to the end)."""
    artifacts: dict[str, Any] = field(default_factory=dict)
    """What the evaluator attached (OpenEvolve's `EvaluationResult.artifacts`); read
    only for a proposal's parents, since prompts show them and nothing else does."""

    @property
    def complete(self) -> bool:
        """Valid and judged on everything: not stopped early by a cascade stage."""
        return self.status == "ok" and self.score is not None and self.stage is None

    @property
    def scored(self) -> bool:
        """Valid with a score that is its result: complete, or stopped by one of the
        task's cascade stages (OpenEvolve's rule), but not merely screened."""
        return self.status == "ok" and self.score is not None and self.stage != SCREEN_STAGE


@dataclass(frozen=True)
class RejectedAttempt:
    """A recent proposal that produced no child, shown to proposers so they avoid it."""

    kind: str
    reason: str
    parent_id: str | None = None


@dataclass
class ProposalRequest:
    task: Task
    parent: CandidateView
    inspirations: list[CandidateView] = field(default_factory=list)
    crossover_with: CandidateView | None = None
    recent_failures: list[CandidateView] = field(default_factory=list)
    recent_rejections: list[RejectedAttempt] = field(default_factory=list)
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
    kind: str = "mutation"  # mutation | diff | rewrite | crossover
    note: str = ""
    calls: list[ProposerCall] = field(default_factory=list)
    crossover_with: str | None = None
    """The id of the second parent when the proposer chose one itself (crossover)."""
    leniency: str = ""
    """The slips of a model's answer forgiven to apply it, comma separated (stored
    with the proposal); empty when the answer applied as written."""


class ProposalRejected(Exception):
    """The proposer could not produce a usable child; the reason is recorded.

    Raise it for an invalid diff from a model, an edit outside the evolve blocks, a
    no-op, or an artifact with nothing to mutate (`status="rejected"`), or when no
    model answered at all (`status="failed"`). `calls` keeps the cost of trying;
    `kind` names the edit mode that was attempted.
    """

    def __init__(
        self,
        reason: str,
        calls: list[ProposerCall] | None = None,
        *,
        status: ProposalStatus = "rejected",
        kind: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.calls = calls or []
        self.status = status
        self.kind = kind


class ProposerUnavailable(RuntimeError):
    """The proposer cannot work at all (a missing API key, an unknown model).

    Unlike `ProposalRejected` this stops the run: retrying would only repeat it. The
    message is one line naming the fix; `calls` keeps what the failed attempt cost.
    """

    def __init__(self, message: str, calls: list[ProposerCall] | None = None) -> None:
        super().__init__(message)
        self.calls = calls or []
