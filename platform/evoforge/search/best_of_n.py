"""Best-of-N from the seed: every child is a mutation of the seed itself.

This is the honest baseline: an evolution that cannot beat N independent samples
from the seed has not shown that evolution helps.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from evoforge.proposals import CandidateView
from evoforge.protocols import Selection
from evoforge.task import Task


class BestOfNStrategy:
    name: ClassVar[str] = "best-of-n"

    def __init__(self, task: Task, seed_candidate: CandidateView, **options: Any) -> None:
        self.seed = seed_candidate

    def select(self, rng: random.Random) -> Selection:
        return Selection(parent=self.seed)

    def admit(self, candidate: CandidateView) -> None:
        """Children never become parents here; only the store remembers them."""
