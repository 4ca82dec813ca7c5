"""Islands of MAP-Elites grids with ring migration: the default strategy.

Each island keeps one elite per feature cell, so it holds diverse solutions rather
than many copies of one idea; islands evolve apart and trade their best along a
ring every `migration_interval` admissions. A global archive of the best candidates
lets exploitation reach beyond the island a proposal was drawn for.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from evoforge.proposals import CandidateView
from evoforge.protocols import Selection
from evoforge.task import Task

DEFAULT_FEATURES = ("code_length",)


def feature_value(candidate: CandidateView, feature: str) -> float:
    """A built-in feature (code length) or any numeric metric the evaluator reports."""
    if feature == "code_length":
        return float(sum(len(text) for text in candidate.files.values()))
    value = candidate.metrics.get(feature, 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


class FeatureGrid:
    """Bins features over the range seen so far (ranges only grow)."""

    def __init__(self, features: tuple[str, ...], bins: int) -> None:
        self.features = features
        self.bins = bins
        self.lows: dict[str, float] = {}
        self.highs: dict[str, float] = {}

    def observe(self, candidate: CandidateView) -> None:
        for feature in self.features:
            value = feature_value(candidate, feature)
            self.lows[feature] = min(self.lows.get(feature, value), value)
            self.highs[feature] = max(self.highs.get(feature, value), value)

    def cell(self, candidate: CandidateView) -> tuple[int, ...]:
        key = []
        for feature in self.features:
            lo, hi = self.lows.get(feature, 0.0), self.highs.get(feature, 0.0)
            value = feature_value(candidate, feature)
            span = hi - lo
            index = 0 if span <= 0 else int((value - lo) / span * self.bins)
            key.append(max(0, min(self.bins - 1, index)))
        return tuple(key)


class Island:
    def __init__(self, index: int) -> None:
        self.index = index
        self.elites: dict[tuple[int, ...], CandidateView] = {}

    def place(self, cell: tuple[int, ...], candidate: CandidateView) -> bool:
        current = self.elites.get(cell)
        if current is None or candidate.fitness > current.fitness:
            self.elites[cell] = candidate
            return True
        return False

    def best(self) -> CandidateView | None:
        return max(self.elites.values(), key=lambda c: c.fitness, default=None)

    def members(self) -> list[CandidateView]:
        return sorted(self.elites.values(), key=lambda c: c.seq)


class IslandStrategy:
    name: ClassVar[str] = "islands"

    def __init__(
        self,
        task: Task,
        seed_candidate: CandidateView,
        islands: int = 4,
        exploration: float = 0.2,
        exploitation: float = 0.7,
        archive_size: int = 50,
        migration_interval: int = 20,
        feature_bins: int = 10,
        inspirations: int = 3,
        migration_rate: float | None = None,
        population_size: int | None = None,
        **options: Any,
    ) -> None:
        if islands < 1:
            raise ValueError("islands must be at least 1")
        if migration_rate is not None and not 0 < migration_rate <= 1:
            raise ValueError("migration_rate must lie in (0, 1]")
        if population_size is not None and population_size < islands:
            raise ValueError("population_size must be at least the number of islands")
        if not 0 <= exploration + exploitation <= 1:
            raise ValueError("exploration + exploitation must lie between 0 and 1")
        self.seed = seed_candidate
        self.exploration = exploration
        self.exploitation = exploitation
        self.archive_size = archive_size
        self.migration_interval = migration_interval
        self.migration_rate = migration_rate
        # OpenEvolve's population_size, shared out: each island keeps at most this many
        # elites, dropping its worst (never its best) to admit a better one.
        self.island_capacity = population_size // islands if population_size else None
        self.inspiration_count = inspirations
        self.grid = FeatureGrid(tuple(task.features) or DEFAULT_FEATURES, feature_bins)
        self.islands = [Island(i) for i in range(islands)]
        self.archive: list[CandidateView] = []
        self.admitted = 0
        self.next_island = 0
        if seed_candidate.status == "ok":
            self._place_everywhere(seed_candidate)

    def _place_everywhere(self, candidate: CandidateView) -> None:
        self.grid.observe(candidate)
        for island in self.islands:
            island.place(self.grid.cell(candidate), candidate)
        self._archive(candidate)

    def _archive(self, candidate: CandidateView) -> None:
        if any(c.id == candidate.id for c in self.archive):
            return
        self.archive.append(candidate)
        self.archive.sort(key=lambda c: (-c.fitness, c.seq))
        del self.archive[self.archive_size :]

    def select(self, rng: random.Random) -> Selection:
        island = self.islands[self.next_island]
        self.next_island = (self.next_island + 1) % len(self.islands)
        members = island.members()
        if not members:
            return Selection(parent=self.seed, island=island.index)
        roll = rng.random()
        if roll < self.exploration:
            parent = rng.choice(members)
        elif roll < self.exploration + self.exploitation and self.archive:
            # Biased towards the top of the archive without always taking the best.
            parent = self.archive[min(int(rng.expovariate(1.0) * 3), len(self.archive) - 1)]
        else:
            parent = self._weighted(members, rng)
        return Selection(
            parent=parent, island=island.index, inspirations=self._inspirations(island, parent, rng)
        )

    @staticmethod
    def _weighted(members: list[CandidateView], rng: random.Random) -> CandidateView:
        ranked = sorted(members, key=lambda c: -c.fitness)
        weights = [1.0 / (rank + 1) for rank in range(len(ranked))]
        return rng.choices(ranked, weights=weights, k=1)[0]

    def _inspirations(
        self, island: Island, parent: CandidateView, rng: random.Random
    ) -> list[CandidateView]:
        picked: list[CandidateView] = []
        best = island.best()
        if best is not None and best.id != parent.id:
            picked.append(best)
        others = [c for c in island.members() if c.id != parent.id and c not in picked]
        rng.shuffle(others)
        picked.extend(others[: max(0, self.inspiration_count - len(picked))])
        return picked[: self.inspiration_count]

    def admit(self, candidate: CandidateView) -> None:
        if candidate.status != "ok":
            return
        self.admitted += 1
        self.grid.observe(candidate)
        island = self.islands[candidate.island % len(self.islands)]
        island.place(self.grid.cell(candidate), candidate)
        self._trim(island)
        self._archive(candidate)
        if self.migration_interval and self.admitted % self.migration_interval == 0:
            self._migrate()

    def _trim(self, island: Island) -> None:
        if self.island_capacity is None:
            return
        while len(island.elites) > self.island_capacity:
            cell = min(
                island.elites, key=lambda c: (island.elites[c].fitness, -island.elites[c].seq)
            )
            del island.elites[cell]

    def _emigrants(self, island: Island) -> list[CandidateView]:
        """The island's best, or its top `migration_rate` share (at least one)."""
        ranked = sorted(island.members(), key=lambda c: (-c.fitness, c.seq))
        count = 1 if self.migration_rate is None else round(self.migration_rate * len(ranked))
        return ranked[: max(1, count)]

    def _migrate(self) -> None:
        """Ring migration: each island's best (or top share) joins the next island."""
        leaving = [self._emigrants(island) for island in self.islands]
        for index, emigrants in enumerate(leaving):
            target = self.islands[(index + 1) % len(self.islands)]
            for candidate in emigrants:
                target.place(self.grid.cell(candidate), candidate)
            self._trim(target)
