"""Registers the built-in strategies through the same hook a third-party package uses."""

from __future__ import annotations

from evoforge.hookspecs import hookimpl
from evoforge.search.best_of_n import BestOfNStrategy
from evoforge.search.greedy import GreedyStrategy
from evoforge.search.islands import IslandStrategy
from evoforge.search.pareto import ParetoStrategy


@hookimpl
def evoforge_search_strategies() -> list[type]:
    return [IslandStrategy, GreedyStrategy, BestOfNStrategy, ParetoStrategy]
