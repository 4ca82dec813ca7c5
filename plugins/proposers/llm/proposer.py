"""The `llm` proposer: ask a model for an edit, apply it strictly, report the cost.

Per proposal it draws an edit mode by `mode_weights` from the run's seeded
generator:

* `diff`: SEARCH/REPLACE blocks, applied only inside the evolve blocks, all or
  nothing (`search_replace.py`);
* `full`: the model rewrites whole files; only their evolve blocks are taken and
  the frozen text must come back unchanged (`rewrite.py`);
* `crossover`: the same answer format, from two parents (the strategy's mate, or the
  best inspiration): the child records both.

An answer that cannot be applied is rejected with its reason; the run records it and
shows it to later prompts as a failed attempt, and the run goes on. A proposal on
which no model answered is `failed`; one where every model refused the key or did
not exist stops the run with the fix (`ProposerUnavailable`).
"""

from __future__ import annotations

import ast
import random
from typing import Any, ClassVar

from pydantic import ValidationError

from evoforge.plugins.proposers.llm.bandit import ModelBandit
from evoforge.plugins.proposers.llm.credentials import load_env_file, resolve_key
from evoforge.plugins.proposers.llm.edit_errors import EditRejected
from evoforge.plugins.proposers.llm.ensemble import AllModelsFailed, Answer, ModelEnsemble
from evoforge.plugins.proposers.llm.leniency import Forgiven, describe
from evoforge.plugins.proposers.llm.novelty import NoveltyFilter, NoveltyUnavailable
from evoforge.plugins.proposers.llm.options import MODES, LLMOptions, Mode
from evoforge.plugins.proposers.llm.prompts import PromptContext, load_templates, render
from evoforge.plugins.proposers.llm.rewrite import apply_rewrite
from evoforge.plugins.proposers.llm.search_replace import apply_answer
from evoforge.proposals import (
    CandidateView,
    Proposal,
    ProposalRejected,
    ProposalRequest,
    ProposerCall,
    ProposerUnavailable,
)
from evoforge.task import Task, content_hash

KIND_OF_MODE: dict[str, str] = {"diff": "diff", "full": "rewrite", "crossover": "crossover"}


class LLMProposer:
    """Children from language models through litellm (options: `LLMOptions`)."""

    name: ClassVar[str] = "llm"

    def __init__(self, task: Task, **options: Any) -> None:
        try:
            self.options = LLMOptions.model_validate(options)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "options"
            raise ValueError(f"llm proposer option {where}: {first['msg']}") from None
        self.task = task
        self.templates = load_templates(task)
        load_env_file(self.options.env_file)
        keys = {
            i: resolve_key(spec.model, spec.api_base, spec.api_key_env)
            for i, spec in enumerate(self.options.models)
        }
        self.bandit = (
            ModelBandit([m.model for m in self.options.models], self.options.bandit_exploration)
            if self.options.bandit
            else None
        )
        self.ensemble = ModelEnsemble(self.options, keys, self.bandit)
        novelty = self.options.novelty
        self.novelty = (
            NoveltyFilter(
                novelty, resolve_key(novelty.embedding_model, novelty.api_base, novelty.api_key_env)
            )
            if novelty is not None
            else None
        )
        # content hash -> (model, parent fitness, cost): what `observe` credits to the
        # bandit. A duplicate child is never evaluated, so its entry stays: bounded by
        # the run's duplicates, and only kept when the bandit is on.
        self._origins: dict[str, tuple[str, float, float]] = {}

    # -- the protocol -------------------------------------------------------------------
    async def propose(self, request: ProposalRequest) -> Proposal:
        rng = random.Random(request.seed)
        mode, mate = self._choose_mode(request, rng)
        kind = KIND_OF_MODE[mode]
        context = PromptContext(
            request=request,
            mate=mate,
            inspirations=self.options.inspirations,
            failures=self.options.failures,
            feedback_chars=self.options.feedback_chars,
            artifact_chars=self.options.artifact_chars,
        )
        messages = [
            {"role": "system", "content": render(self.templates["system"], context)},
            {"role": "user", "content": render(self.templates[mode], context)},
        ]
        calls: list[ProposerCall] = []
        reasks = self.options.novelty.max_reasks if self.options.novelty else 0
        for ask in range(reasks + 1):
            answer = await self._ask(messages, rng, calls, kind)
            forgiven: Forgiven = set()
            child = self._apply(mode, request.parent.files, answer.text, calls, kind, forgiven)
            close = await self._too_close(child, request, mate, calls)
            if close is None:
                break
            if ask == reasks:
                raise ProposalRejected(
                    f"{kind}: near-duplicate of {close[0]} (cosine {close[1]:.3f} >= "
                    f"{self.options.novelty.threshold:g}) after {reasks} re-ask(s)",  # type: ignore[union-attr]
                    calls,
                    kind=kind,
                )
            messages = [
                *messages,
                {"role": "assistant", "content": answer.text},
                {
                    "role": "user",
                    "content": (
                        f"That version is nearly identical to {close[0]} (cosine similarity "
                        f"{close[1]:.3f}). Propose a substantially different change, in the "
                        "same answer format."
                    ),
                },
            ]
        if self.bandit is not None:
            cost = sum(c.cost_usd for c in calls)
            self._origins[content_hash(child)] = (answer.model, request.parent.fitness, cost)
        if self.novelty is not None:
            self.novelty.remember(child, "an earlier child")
        note = f"{kind} by {answer.model}"
        if mate is not None:
            note += f" (with {mate.id})"
        return Proposal(
            files=child,
            kind=kind,
            note=note,
            calls=calls,
            crossover_with=mate.id if mate is not None else None,
            leniency=describe(forgiven),
        )

    def observe(self, candidate: CandidateView) -> None:
        """Credit the model that wrote an evaluated child (feeds the bandit)."""
        if self.bandit is None:
            return
        origin = self._origins.pop(content_hash(candidate.files), None)
        if origin is None:
            return
        model, parent_fitness, cost = origin
        self.bandit.record(model, candidate.fitness > parent_fitness, cost)

    # -- steps -------------------------------------------------------------------------
    def _choose_mode(
        self, request: ProposalRequest, rng: random.Random
    ) -> tuple[Mode, CandidateView | None]:
        weights = dict(self.options.mode_weights)
        mate = request.crossover_with or self._best_mate(request)
        if mate is None and weights["crossover"] > 0:
            # No second parent yet (early in a run): the closest mode is a full rewrite.
            weights["full"] = weights["full"] + weights["crossover"]
            weights["crossover"] = 0.0
        live = [m for m in MODES if weights[m] > 0]
        mode = rng.choices(live, weights=[weights[m] for m in live], k=1)[0]
        return mode, (mate if mode == "crossover" else None)

    @staticmethod
    def _best_mate(request: ProposalRequest) -> CandidateView | None:
        usable = [
            c
            for c in request.inspirations
            if c.status == "ok" and c.id != request.parent.id and c.files != request.parent.files
        ]
        return max(usable, key=lambda c: c.fitness, default=None)

    async def _ask(
        self,
        messages: list[dict[str, str]],
        rng: random.Random,
        calls: list[ProposerCall],
        kind: str,
    ) -> Answer:
        try:
            answer = await self.ensemble.ask(messages, rng)
        except AllModelsFailed as failed:
            calls.extend(failed.calls)
            if failed.configuration:
                raise ProposerUnavailable(
                    f"{failed.reason}; check the model names, api_base and keys "
                    "(environment or .env)",
                    calls,
                ) from None
            raise ProposalRejected(failed.reason, calls, status="failed", kind=kind) from None
        calls.extend(answer.calls)
        if not answer.text.strip():
            raise ProposalRejected(
                f"{kind}: {answer.model} returned an empty answer", calls, kind=kind
            )
        return answer

    def _apply(
        self,
        mode: Mode,
        files: dict[str, str],
        text: str,
        calls: list[ProposerCall],
        kind: str,
        forgiven: Forgiven,
    ) -> dict[str, str]:
        apply = apply_answer if mode == "diff" else apply_rewrite
        try:
            child = apply(files, text, forgiven)
        except EditRejected as rejected:
            raise ProposalRejected(f"{kind}: {rejected.reason}", calls, kind=kind) from None
        if self.options.syntax_check:
            for name, body in child.items():
                if body != files.get(name) and name.endswith((".py", ".pyi")):
                    try:
                        ast.parse(body, filename=name)
                    except SyntaxError as exc:
                        raise ProposalRejected(
                            f"{kind}: {name} no longer parses (line {exc.lineno}: {exc.msg})",
                            calls,
                            kind=kind,
                        ) from None
        return child

    async def _too_close(
        self,
        child: dict[str, str],
        request: ProposalRequest,
        mate: CandidateView | None,
        calls: list[ProposerCall],
    ) -> tuple[str, float] | None:
        if self.novelty is None:
            return None
        relatives = {f"the parent {request.parent.id}": request.parent.files}
        for view in [*request.inspirations, *([mate] if mate else [])]:
            relatives[f"version {view.id}"] = view.files
        try:
            nearest, made = await self.novelty.nearest(child, relatives)
        except NoveltyUnavailable as unavailable:
            calls.append(unavailable.call)
            return None  # the check is advisory: a failed embedding does not cost a child
        calls.extend(made)
        if nearest is not None and self.novelty.too_close(nearest):
            return nearest.candidate, nearest.similarity
        return None
