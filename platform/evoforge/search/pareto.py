"""A Pareto frontier over training instances (GEPA's selection), with minibatch screening.

A scalar strategy keeps the candidate with the best mean and drops one that is best
on a single instance but worse on average; yet that specialist often holds the idea
the next improvement needs. Here a candidate stays on the frontier while it is best
(or tied best) on at least one training instance or extra objective. Parents are
drawn in proportion to how many of those they lead, so a candidate leading many
instances is mutated more often, and a lone specialist still gets its turn.

Each selection also names a minibatch: a few training instances on which the child
must score at least its parent's mean there, in a cascade stage the orchestrator
runs before the full training set (`Selection.screen`). A child that regresses
costs a few instances, not the whole set. The screen compares means, so it fits
tasks whose score is the mean of their instance scores (every built-in task's is);
for a task that minimizes, no screen is set.

Options: `minibatch` (instances per screen, default 3; 0 turns screening off) and
`objectives`, metric names that count as extra "instances" (`name` is maximized,
`name:min` minimized), e.g. `["runtime_s:min"]`.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from evoforge.proposals import CandidateView
from evoforge.protocols import Screen, Selection
from evoforge.task import Task

TIE = 1e-12
"""Scores this close are a tie: both candidates lead the instance."""


def parse_objectives(names: list[str] | tuple[str, ...]) -> dict[str, float]:
    """`["runtime_s:min", "size"]` -> {"runtime_s": -1.0, "size": 1.0} (sign to maximize)."""
    parsed: dict[str, float] = {}
    for entry in names:
        name, _, sense = str(entry).partition(":")
        if sense not in ("", "max", "min"):
            raise ValueError(f"objective {entry!r}: write NAME, NAME:max or NAME:min")
        parsed[name] = -1.0 if sense == "min" else 1.0
    return parsed


class ParetoStrategy:
    name: ClassVar[str] = "pareto"

    def __init__(
        self,
        task: Task,
        seed_candidate: CandidateView,
        minibatch: int = 3,
        objectives: list[str] | tuple[str, ...] = (),
        **options: Any,
    ) -> None:
        if minibatch < 0:
            raise ValueError("the pareto strategy's minibatch must be 0 or more")
        self.sign = 1.0 if task.direction == "maximize" else -1.0
        self.minibatch = minibatch if task.direction == "maximize" else 0
        self.objectives = parse_objectives(objectives)
        self.seed = seed_candidate
        self.members: dict[str, CandidateView] = {}
        self.best: dict[str, float] = {}
        """Per key (instance or objective): the best direction-adjusted value."""
        self.leaders: dict[str, set[str]] = {}
        self.admit(seed_candidate)

    # -- the frontier ------------------------------------------------------------------
    def values(self, candidate: CandidateView) -> dict[str, float]:
        """Direction-adjusted values, larger is better: per instance, per objective."""
        scores = candidate.instance_scores or {"score": float(candidate.score or 0.0)}
        found = {f"instance:{key}": self.sign * float(v) for key, v in scores.items()}
        for metric, sign in self.objectives.items():
            value = candidate.metrics.get(metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[f"objective:{metric}"] = sign * float(value)
        return found

    def admit(self, candidate: CandidateView) -> None:
        if not candidate.complete:
            return  # invalid, or stopped by a screen: it was not judged on everything
        for key, value in self.values(candidate).items():
            best = self.best.get(key)
            if best is None or value > best + TIE:
                self.best[key] = value
                self.leaders[key] = {candidate.id}
            elif value >= best - TIE:
                self.leaders[key].add(candidate.id)
        self.members[candidate.id] = candidate
        leading = set().union(*self.leaders.values()) if self.leaders else set()
        for cid in list(self.members):
            if cid not in leading:
                del self.members[cid]

    def frontier(self) -> list[CandidateView]:
        """Every candidate that leads at least one instance or objective, oldest first."""
        return sorted(self.members.values(), key=lambda c: c.seq)

    def led_by(self, candidate_id: str) -> int:
        return sum(1 for ids in self.leaders.values() if candidate_id in ids)

    # -- choosing a parent ----------------------------------------------------------------
    def select(self, rng: random.Random) -> Selection:
        frontier = self.frontier()
        if not frontier:
            return Selection(parent=self.seed)
        weights = [self.led_by(c.id) for c in frontier]
        parent = rng.choices(frontier, weights=weights, k=1)[0]
        others = [c for c in frontier if c.id != parent.id]
        inspirations = rng.sample(others, min(3, len(others)))
        return Selection(parent=parent, inspirations=inspirations, screen=self.screen(parent, rng))

    def screen(self, parent: CandidateView, rng: random.Random) -> Screen | None:
        scores = parent.instance_scores or {}
        if self.minibatch == 0 or len(scores) <= self.minibatch:
            return None  # a minibatch as large as the set saves nothing
        keys = rng.sample(sorted(scores), self.minibatch)
        floor = sum(float(scores[k]) for k in keys) / len(keys)
        return Screen(instances=keys, floor=floor)
