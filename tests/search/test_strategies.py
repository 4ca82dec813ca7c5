"""Search strategies pick parents the way their names promise."""

from __future__ import annotations

import random

from evoforge.proposals import CandidateView
from evoforge.search.best_of_n import BestOfNStrategy
from evoforge.search.greedy import GreedyStrategy
from evoforge.search.islands import IslandStrategy
from evoforge.task import ArtifactFile, Task

TASK = Task(name="t", files=[ArtifactFile(name="p.py", seed="X = 1\n")], evaluate="m:f")


def view(
    seq: int,
    score: float | None,
    status: str = "ok",
    island: int = 0,
    size: int = 10,
    metrics: dict | None = None,
) -> CandidateView:
    return CandidateView(
        id=f"c{seq}",
        files={"p.py": "x" * size},
        score=score,
        fitness=TASK.fitness(score) if status == "ok" else float("-inf"),
        status=status,
        island=island,
        seq=seq,
        metrics=metrics or {},
    )


SEED = view(0, 1.0)


def test_best_of_n_always_mutates_the_seed() -> None:
    strategy = BestOfNStrategy(task=TASK, seed_candidate=SEED)
    strategy.admit(view(1, 5.0))
    assert {strategy.select(random.Random(i)).parent.id for i in range(20)} == {"c0"}


def test_greedy_climbs_from_the_best_valid_candidate() -> None:
    strategy = GreedyStrategy(task=TASK, seed_candidate=SEED)
    strategy.admit(view(1, 3.0))
    strategy.admit(view(2, 2.0))
    strategy.admit(view(3, None, status="crashed"))
    assert strategy.select(random.Random(0)).parent.id == "c1"


def test_greedy_follows_the_direction_of_the_task() -> None:
    task = TASK.model_copy(update={"direction": "minimize"})
    low = CandidateView(id="low", files={}, score=0.5, fitness=task.fitness(0.5), status="ok")
    high = CandidateView(id="high", files={}, score=9.0, fitness=task.fitness(9.0), status="ok")
    strategy = GreedyStrategy(task=task, seed_candidate=high)
    strategy.admit(low)
    assert strategy.select(random.Random(0)).parent.id == "low"


def test_islands_keep_one_elite_per_feature_cell_and_ignore_failures() -> None:
    strategy = IslandStrategy(task=TASK, seed_candidate=SEED, islands=2, migration_interval=0)
    strategy.admit(view(1, 2.0, island=0, size=10))
    strategy.admit(view(2, 1.5, island=0, size=10))  # same cell, worse: not kept
    strategy.admit(view(3, 0.5, island=0, size=1000))  # new cell: kept though worse
    strategy.admit(view(4, None, status="timeout", island=0, size=500))
    members = {c.id for c in strategy.islands[0].members()}
    assert "c2" not in members and "c4" not in members
    assert {"c1", "c3"} <= members
    assert {c.id for c in strategy.islands[1].members()} == {"c0"}


def test_islands_rotate_and_migrate_their_best_along_the_ring() -> None:
    strategy = IslandStrategy(task=TASK, seed_candidate=SEED, islands=3, migration_interval=2)
    assert [strategy.select(random.Random(i)).island for i in range(6)] == [0, 1, 2, 0, 1, 2]
    strategy.admit(view(1, 9.0, island=0, size=50))
    strategy.admit(view(2, 0.1, island=2, size=5))  # second admission triggers migration
    assert strategy.islands[1].best().id == "c1"


def test_islands_use_metric_features_when_the_task_names_them() -> None:
    task = TASK.model_copy(update={"features": ["spread"]})
    strategy = IslandStrategy(
        task=task, seed_candidate=view(0, 1.0, metrics={"spread": 0.0}), islands=1
    )
    strategy.admit(view(1, 0.5, metrics={"spread": 1.0}))
    strategy.admit(view(2, 0.4, metrics={"spread": 0.5}))
    assert len(strategy.islands[0].elites) == 3


def test_islands_mostly_exploit_the_best_but_still_explore() -> None:
    strategy = IslandStrategy(task=TASK, seed_candidate=SEED, islands=1)
    for seq, (score, size) in enumerate([(5.0, 100), (1.0, 200), (2.0, 300)], start=1):
        strategy.admit(view(seq, score, size=size))
    picks = [strategy.select(random.Random(i)).parent.id for i in range(300)]
    assert picks.count("c1") > 100
    assert len(set(picks)) >= 3
