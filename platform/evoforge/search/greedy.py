"""Hill-climbing: always mutate the best valid candidate so far."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from evoforge.proposals import CandidateView
from evoforge.protocols import Selection
from evoforge.task import Task


class GreedyStrategy:
    name: ClassVar[str] = "greedy"

    def __init__(self, task: Task, seed_candidate: CandidateView, **options: Any) -> None:
        self.best = seed_candidate
        self.recent: list[CandidateView] = []

    def select(self, rng: random.Random) -> Selection:
        return Selection(parent=self.best, inspirations=list(self.recent[-3:]))

    def admit(self, candidate: CandidateView) -> None:
        if candidate.status != "ok":
            return
        self.recent.append(candidate)
        del self.recent[:-8]
        if candidate.fitness > self.best.fitness or self.best.status != "ok":
            self.best = candidate
