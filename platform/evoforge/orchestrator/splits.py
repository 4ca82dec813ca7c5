"""Scoring the validation, test and public splits when a run ends.

The search only ever sees training scores. At the end, the seed and the top
candidates by training score are scored on the validation split; then the seed,
the best by training and the best by validation are scored on the held-out test
split, and on the task's public protocol where the run asked for it. Every score is
stored (`split_scores`), so `show`, the UI and export can put train, validation, test
and public side by side, and a run that selects on validation
exports the candidate that generalises, not the one that fits training best.
Scoring is idempotent: a resumed run scores only what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.proposals import CandidateView
from evoforge.secret_values import scrub_outcome
from evoforge.store.repository import Repository
from evoforge.task import Task

Evaluate = Callable[[EvaluationJob], Awaitable[EvaluationOutcome]]


class SplitScorer:
    def __init__(
        self,
        task: Task,
        repo: Repository,
        run_id: str,
        sandbox: str,
        evaluate: Evaluate,
        slots: int,
        validate_top: int,
    ) -> None:
        self.task = task
        self.repo = repo
        self.run_id = run_id
        self.sandbox = sandbox
        self.evaluate = evaluate
        self.limit = asyncio.Semaphore(slots)
        self.validate_top = validate_top

    async def run(self) -> None:
        seed = self.repo.seed_candidate(self.run_id)
        held_out = (self.task.test_instances, self.task.public_instances)
        if seed is None or not (self.task.validation_instances or any(held_out)):
            return
        if self.task.validation_instances:
            top = self.repo.top_candidates(self.run_id, self.validate_top)
            await self.score("validation", [seed, *top])
        chosen = [
            seed,
            self.repo.best_candidate(self.run_id),
            self.repo.best_on_validation(self.run_id),
        ]
        for split in ("test", "public"):
            if self.task.split_instances(split):
                await self.score(split, [c for c in chosen if c is not None])

    async def score(self, split: str, candidates: list[CandidateView]) -> None:
        done = self.repo.split_scores(self.run_id)
        todo = {c.id: c for c in candidates if split not in done.get(c.id, {})}
        await asyncio.gather(*(self.score_one(split, c) for c in todo.values()))

    async def score_one(self, split: str, candidate: CandidateView) -> None:
        job = EvaluationJob.for_candidate(
            self.task, self.run_id, candidate.id, candidate.files, self.sandbox
        )
        update: dict[str, object] = {"instances": self.task.split_instances(split), "split": split}
        if split == "public":  # the task's own checks would judge it by the task's rules
            update["stages"] = []
        job = job.model_copy(update=update)
        async with self.limit:
            # Scrubbed on receipt, as a training evaluation is (evoforge.secret_values).
            outcome = scrub_outcome(await self.evaluate(job))
        self.repo.record_split_score(candidate.id, split, outcome)
