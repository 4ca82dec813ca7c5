"""The asynchronous evolution loop.

Up to P proposals and E evaluations are in flight at once; whichever finishes first
is handled first, so a slow evaluation never idles the proposer and a slow model
never idles the sandboxes. Every step is written to the store before the next one
depends on it, which makes the store the checkpoint: a killed run resumes from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from evoforge.config import RunConfig
from evoforge.interrupts import stop_interrupted
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.orchestrator.budget import Progress, stop_reason
from evoforge.orchestrator.pacing import ProposalPacer
from evoforge.orchestrator.screening import minibatch_stage
from evoforge.orchestrator.seed_check import SeedUnusable, unusable_seed
from evoforge.orchestrator.splits import SplitScorer
from evoforge.plugin_manager import registry
from evoforge.presses import noting_presses
from evoforge.proposals import (
    CandidateView,
    Proposal,
    ProposalRejected,
    ProposalRequest,
    ProposerCall,
    ProposerUnavailable,
    RejectedAttempt,
)
from evoforge.protocols import Screen, Selection
from evoforge.secret_values import remember, scrub_outcome
from evoforge.store.database import Database
from evoforge.store.errors import StoreError
from evoforge.store.proposals import DUPLICATE_REASON
from evoforge.store.repository import Repository
from evoforge.store.rows import LOG_TAIL_CHARS
from evoforge.task import Task

log = logging.getLogger(__name__)


def unified_diff(parent: dict[str, str], child: dict[str, str]) -> str:
    """The child's change against its primary parent, one unified diff over all files."""
    chunks: list[str] = []
    for name in sorted(set(parent) | set(child)):
        before, after = parent.get(name, ""), child.get(name, "")
        if before != after:
            chunks.extend(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"a/{name}",
                    tofile=f"b/{name}",
                )
            )
    return "".join(chunks)


def new_executor(config: RunConfig) -> Any:
    return registry().lookup("executors", config.executor)(
        slots=config.evaluation_slots,
        sandbox_options=config.sandbox_options,
        **config.executor_options,
    )


def check_executor(executor: Any, config: RunConfig, task: Task) -> None:
    """Raise the executor's one-line refusal (its sandbox cannot run here or lacks the
    task's image, or the task needs a GPU it does not have); both checks are optional
    for executor plugins."""
    if hasattr(executor, "check"):
        executor.check(config.sandbox)
    check_task = getattr(executor, "check_task", None)
    if check_task is not None:
        check_task(task, config.sandbox)


@dataclass
class _Pending:
    """A proposal in flight, with the selection that asked for it."""

    selection: Selection
    seq: int
    recent_failures: list[CandidateView]
    recent_rejections: list[RejectedAttempt]
    started: float = 0.0


class Orchestrator:
    def __init__(
        self, database: Database, run_id: str, executor_options: dict[str, Any] | None = None
    ) -> None:
        """`executor_options` override the stored ones for this session only (`resume
        --gpus`): which GPUs to use belongs to the machine, not to the run."""
        self.database = database
        self.repo = Repository(database)
        # The store's password is a secret no candidate output may carry.
        remember(database.engine.url.password)
        self.run_id = run_id
        run = self.repo.get_run(run_id)
        self.task = Task.model_validate(run.task_json)
        config = dict(run.config_json)
        if executor_options:
            config["executor_options"] = {
                **(config.get("executor_options") or {}),
                **executor_options,
            }
        self.config = RunConfig.model_validate(config)
        self.hooks = registry().manager.hook
        self.progress = Progress()
        self.queue: deque[CandidateView] = deque()
        self.proposal_counter = 0
        self.stopping: str | None = None
        self.strategy: Any = None
        self.failures: deque[CandidateView] = deque(maxlen=3)
        self.rejections: deque[RejectedAttempt] = deque(maxlen=3)
        self.proposer: Any = None
        self.screens: dict[str, Screen] = {}
        """Children whose strategy asked for a minibatch first (lost on resume: those
        children are then judged on the full training set)."""
        self.without_artifacts: set[str] = set()
        """Candidates this session saw evaluated with no artifacts: a prompt for their
        children need not ask the store (a read per proposal, a fifth of the event
        loop's time on an instant task). Candidates evaluated before a resume are read."""
        self.pacer = ProposalPacer(
            self.config.evaluation_slots,
            self.config.proposal_slots,
            self.config.max_proposal_slots,
        )

    # -- building the run's parts -------------------------------------------------
    def _build_parts(self, seed_view: CandidateView) -> None:
        reg = registry()
        cfg = self.config
        self.strategy = reg.lookup("strategies", cfg.strategy)(
            task=self.task, seed_candidate=seed_view, **cfg.strategy_options
        )
        self.proposer = reg.lookup("proposers", cfg.proposer)(
            task=self.task, **cfg.proposer_options
        )

    def _build_executor(self) -> Any:
        executor = new_executor(self.config)
        check_executor(executor, self.config, self.task)
        return executor

    def _rng(self, seq: int) -> random.Random:
        """One generator per proposal, so a proposal's choices depend only on its index."""
        return random.Random(f"{self.config.seed}:{seq}")

    # -- the loop -----------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self.executor = self._build_executor()
        self.repo.set_run_status(self.run_id, "running", None)
        try:
            with noting_presses():  # a store write waiting on a lock gives way to Ctrl-C
                await self._run()
        except (KeyboardInterrupt, asyncio.CancelledError):
            cancel = getattr(self.executor, "cancel", None)
            if cancel is not None:
                cancel()  # don't make the user wait for evaluations nobody will record
            with contextlib.suppress(StoreError):  # busy: the caller tries once more
                stop_interrupted(self.database, self.run_id)
            raise
        except Exception as exc:
            self.repo.set_run_status(self.run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            await self.executor.aclose()
        summary = self.repo.run_summary(self.run_id)
        self._emit("evoforge_run_finished", run_id=self.run_id, summary=summary)
        return summary

    async def _run(self) -> None:
        seed_view = await self._ensure_seed_evaluated()
        unusable = unusable_seed(seed_view, self.task)
        if unusable is not None and not self.config.keep_going:
            raise SeedUnusable(unusable)
        self._build_parts(seed_view)
        self._replay()
        self.queue.extend(self.repo.pending_candidates(self.run_id))
        self.failures.extend(self.repo.recent_failures(self.run_id, limit=3))
        self.rejections.extend(self.repo.recent_rejections(self.run_id, limit=3))
        self.proposal_counter = max(
            self.repo.count_candidates(self.run_id), self.repo.count_proposals(self.run_id) + 1
        )
        evaluations: dict[asyncio.Task[EvaluationOutcome], CandidateView] = {}
        proposals: dict[asyncio.Task[Proposal], _Pending] = {}
        cfg = self.config
        limit = cfg.budget.max_evaluations
        while True:
            self.stopping = self.stopping or stop_reason(cfg.budget, self.task, self.progress)
            if not self.stopping:
                while self.queue and len(evaluations) < cfg.evaluation_slots:
                    if limit is not None and self.progress.evaluations + len(evaluations) >= limit:
                        break
                    view = self.queue.popleft()
                    evaluations[asyncio.create_task(self._evaluate(view))] = view
                proposal_slots = self.pacer.slots
                while len(proposals) < proposal_slots:
                    committed = (
                        self.progress.evaluations
                        + len(evaluations)
                        + len(self.queue)
                        + len(proposals)
                    )
                    if limit is not None and committed >= limit:
                        break
                    if len(self.queue) + len(proposals) >= cfg.evaluation_slots + proposal_slots:
                        # Enough work queued. Gating on the queue alone would idle the
                        # proposers whenever E children wait, and a slow model then
                        # needs its full latency to refill: the slots starve. Children
                        # queued plus proposals in flight stay within P + E instead.
                        break
                    pending = self._start_proposal()
                    proposals[asyncio.create_task(self._propose(pending))] = pending
            elif not self._spend_exhausted():
                for task in proposals:
                    task.cancel()
            # Out of money, the proposals in flight still finish: their calls are paid
            # for, so they are recorded (children stay pending for a resume).
            if not evaluations and not proposals:
                break
            done, _ = await asyncio.wait(
                [*evaluations, *proposals], return_when=asyncio.FIRST_COMPLETED
            )
            for finished in done:
                if finished in evaluations:
                    self._on_evaluated(evaluations.pop(finished), finished.result())
                else:
                    pending = proposals.pop(finished)
                    if not finished.cancelled():
                        self._on_proposed(pending, finished)
        reason = self.stopping or stop_reason(cfg.budget, self.task, self.progress)
        await SplitScorer(
            self.task,
            self.repo,
            self.run_id,
            cfg.sandbox,
            self.executor.evaluate,
            cfg.evaluation_slots,
            cfg.validate_top,
        ).run()
        self.repo.set_run_status(self.run_id, "finished", reason or "budget exhausted")

    async def _ensure_seed_evaluated(self) -> CandidateView:
        seed = self.repo.seed_candidate(self.run_id)
        if seed is None:
            seed = self.repo.add_candidate(
                self.run_id,
                files=self.task.seed_files(),
                parent_id=None,
                generation=0,
                island=0,
                proposer="seed",
                kind="seed",
                note="the task's seed artifact",
                diff="",
            )
            assert seed is not None
        if seed.status == "pending":
            outcome = await self._evaluate(seed)
            seed = self._on_evaluated(seed, outcome)
        return seed

    def _replay(self) -> None:
        """Rebuild strategy and progress from the store, the seed included."""
        self.progress = Progress(
            started=self.progress.started, spend_usd=self.repo.spend_usd(self.run_id)
        )
        for view in self.repo.evaluated_candidates(self.run_id):
            if view.kind != "seed":
                self.strategy.admit(view)
            self._count(view)

    def _count(self, view: CandidateView) -> bool:
        self.progress.evaluations += 1
        improved = view.scored and self.task.is_better(view.score, self.progress.best_score)
        if improved:
            self.progress.best_score = view.score
            self.progress.since_improvement = 0
            return True
        self.progress.since_improvement += 1
        return False

    # -- proposals ----------------------------------------------------------------------
    def _start_proposal(self) -> _Pending:
        seq = self.proposal_counter
        self.proposal_counter += 1
        return _Pending(
            self.strategy.select(self._rng(seq)),
            seq,
            list(self.failures),
            list(self.rejections),
            started=time.monotonic(),
        )

    async def _propose(self, pending: _Pending) -> Proposal:
        selection = pending.selection
        mate = selection.crossover_with
        request = ProposalRequest(
            task=self.task,
            parent=self._with_artifacts(selection.parent),
            inspirations=selection.inspirations,
            crossover_with=mate and self._with_artifacts(mate),
            recent_failures=pending.recent_failures,
            recent_rejections=pending.recent_rejections,
            seed=self._rng(pending.seq).getrandbits(63),
            generation=selection.parent.generation + 1,
            island=selection.island,
        )
        proposal = await self.proposer.propose(request)
        limit = self.config.max_code_length
        size = sum(len(text) for text in proposal.files.values())
        if limit is not None and size > limit:
            raise ProposalRejected(
                f"{proposal.kind}: the child holds {size} characters, over the run's "
                f"max_code_length of {limit}; keep the program shorter",
                proposal.calls,
                kind=proposal.kind,
            )
        return proposal

    def _with_artifacts(self, view: CandidateView) -> CandidateView:
        """The parent as a prompt shows it: with what its evaluator attached."""
        if view.id in self.without_artifacts:
            return view
        artifacts = self.repo.candidate_artifacts(view.id)
        return replace(view, artifacts=artifacts) if artifacts else view

    def _on_proposed(self, pending: _Pending, finished: asyncio.Task[Proposal]) -> None:
        parent = pending.selection.parent
        error = finished.exception()
        self.pacer.proposal_finished(time.monotonic() - pending.started, error is None)
        if isinstance(error, ProposerUnavailable):
            self._record_proposal(pending, None, "", "failed", str(error), error.calls)
            raise error
        if error is not None:
            if not isinstance(error, ProposalRejected):
                raise error
            self._record_proposal(
                pending, None, error.kind, error.status, error.reason, error.calls
            )
            self.rejections.appendleft(RejectedAttempt(error.kind, error.reason, parent.id))
            self._fruitless(f"proposal {error.status}: {error.reason}")
            return
        proposal = finished.result()
        mate = proposal.crossover_with or (
            pending.selection.crossover_with.id if pending.selection.crossover_with else None
        )
        view = self.repo.add_proposed_child(
            self.run_id,
            proposal.files,
            seq=pending.seq,
            parent_id=parent.id,
            calls=proposal.calls,
            leniency=proposal.leniency,
            inspirations=[c.id for c in pending.selection.inspirations],
            crossover_parents=[mate] if mate else [],
            generation=parent.generation + 1,
            island=pending.selection.island,
            proposer=self.config.proposer,
            kind=proposal.kind,
            note=proposal.note,
            diff=unified_diff(parent.files, proposal.files),
        )
        self.progress.spend_usd += sum(call.cost_usd for call in proposal.calls)
        if view is None:
            self._fruitless(DUPLICATE_REASON)
            return
        if pending.selection.screen is not None:
            self.screens[view.id] = pending.selection.screen
        self.progress.fruitless_proposals = 0
        self.queue.append(view)

    def _record_proposal(
        self,
        pending: _Pending,
        candidate_id: str | None,
        kind: str,
        status: str,
        reason: str,
        calls: list[ProposerCall],
        leniency: str = "",
    ) -> None:
        """Every proposal is kept with its outcome and calls, and its cost is counted."""
        self.repo.record_proposal(
            self.run_id,
            seq=pending.seq,
            parent_id=pending.selection.parent.id,
            candidate_id=candidate_id,
            proposer=self.config.proposer,
            kind=kind,
            status=status,
            reason=reason,
            calls=calls,
            leniency=leniency,
        )
        self.progress.spend_usd += sum(call.cost_usd for call in calls)

    def _spend_exhausted(self) -> bool:
        limit = self.config.budget.max_cost_usd
        return limit is not None and self.progress.spend_usd >= limit

    def _fruitless(self, reason: str) -> None:
        self.progress.fruitless_proposals += 1
        if self.progress.fruitless_proposals >= self.config.max_fruitless_proposals:
            self.stopping = (
                f"{self.progress.fruitless_proposals} proposals in a row added nothing new "
                f"(last: {reason})"
            )

    # -- evaluations --------------------------------------------------------------------
    async def _evaluate(self, view: CandidateView) -> EvaluationOutcome:
        job = EvaluationJob.for_candidate(
            self.task, self.run_id, view.id, view.files, self.config.sandbox
        )
        screen = self.screens.pop(view.id, None)
        stage = minibatch_stage(self.task, screen) if screen is not None else None
        if stage is not None:
            job = job.model_copy(update={"stages": [*job.stages, stage]})
        started = time.monotonic()
        # Scrubbed again on receipt: a Celery worker on another machine knew only its
        # own secrets, not this one's (evoforge.secret_values).
        outcome = scrub_outcome(await self.executor.evaluate(job))
        self.pacer.evaluation_finished(time.monotonic() - started)
        return outcome

    def _on_evaluated(self, view: CandidateView, outcome: EvaluationOutcome) -> CandidateView:
        self.repo.record_evaluation(view.id, outcome)
        if not outcome.artifacts:
            self.without_artifacts.add(view.id)
        ok = outcome.status == "ok" and outcome.score is not None
        evaluated = replace(
            view,
            status=outcome.status,
            score=outcome.score,
            fitness=self.task.fitness(outcome.score) if ok else float("-inf"),
            metrics=outcome.metrics,
            feedback=outcome.feedback,
            reason=outcome.reason,
            log_tail=outcome.stderr[-LOG_TAIL_CHARS:],
            instance_scores=outcome.instance_scores,
            stage=outcome.stage,
        )
        if outcome.status != "ok":
            self.failures.appendleft(evaluated)
        if self.strategy is not None:
            self.strategy.admit(evaluated)
        observe = getattr(self.proposer, "observe", None)
        if observe is not None:
            observe(evaluated)
        improved = self._count(evaluated)
        self._emit(
            "evoforge_candidate_evaluated", run_id=self.run_id, candidate=evaluated, outcome=outcome
        )
        if improved:
            self._emit(
                "evoforge_new_best", run_id=self.run_id, candidate=evaluated, outcome=outcome
            )
        return evaluated

    def _emit(self, hook_name: str, **kwargs: Any) -> None:
        """Event hooks inform; a failing tracker is logged, never fatal to the run."""
        try:
            getattr(self.hooks, hook_name)(**kwargs)
        except Exception:
            log.exception("an %s hook failed; the run goes on", hook_name)
