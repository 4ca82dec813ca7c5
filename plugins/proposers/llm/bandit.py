"""A UCB bandit over the ensemble's models: more calls to models whose children
improve most per dollar.

Each model is an arm. A pull is one of its children being evaluated; the child is a
success when it beats its parent. Plain UCB1 on the success rate would ignore price,
so the arm's score is the optimistic success rate divided by its mean cost per
child: an expensive model must improve proportionally more often to keep its share.
Free models (local servers, cost 0) are charged a floor of `COST_FLOOR_USD` so they
compare by success rate among themselves. Unpulled arms are tried first.

State is in memory: after `evoforge resume` the bandit starts over from the
configured weights.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

COST_FLOOR_USD = 1e-6


@dataclass
class Arm:
    pulls: int = 0
    successes: int = 0
    spend_usd: float = 0.0


class ModelBandit:
    def __init__(self, models: list[str], exploration: float = 1.0) -> None:
        self.arms = {model: Arm() for model in models}
        self.exploration = exploration

    def record(self, model: str, improved: bool, cost_usd: float) -> None:
        arm = self.arms.setdefault(model, Arm())
        arm.pulls += 1
        arm.successes += int(improved)
        arm.spend_usd += max(0.0, cost_usd)

    def score(self, model: str) -> float:
        """Optimistic improvements per dollar; infinite for an arm never pulled."""
        arm = self.arms[model]
        if arm.pulls == 0:
            return math.inf
        total = sum(a.pulls for a in self.arms.values())
        rate = arm.successes / arm.pulls
        bonus = self.exploration * math.sqrt(2.0 * math.log(max(total, 1)) / arm.pulls)
        cost_per_child = max(arm.spend_usd / arm.pulls, COST_FLOOR_USD)
        return (rate + bonus) / cost_per_child

    def choose(self, weights: dict[str, float], rng: random.Random) -> str:
        """The arm with the best score among models of positive weight; ties by weight."""
        live = [m for m, w in weights.items() if w > 0]
        scores = {m: self.score(m) for m in live}
        top = max(scores.values())
        tied = [m for m in live if scores[m] == top]
        return rng.choices(tied, weights=[weights[m] for m in tied], k=1)[0]
