"""Run one policy on one instance and turn whatever happens into a checked result.

Shared by the evaluator and by the baseline-table builder, so the stored baseline
figures come from exactly the code path that judges candidates.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from .oracle import Oracle, budget_for
from .simulator import Simulation, check_order, footprints, simulate

WALL_CAP_S = 2.0  # a safety net only: the oracle budget is what the score counts


@dataclass(frozen=True)
class Run:
    """A policy's valid schedule on one instance, simulated."""

    order: list[int]
    simulation: Simulation
    used: int
    budget: int
    wall_s: float


def run_policy(module: Any, txns: list[dict[str, Any]], *, limits: bool = True) -> Run | str:
    """The checked run, or a one-line fault (without the instance id, the caller adds it).

    `limits=False` skips the budget and wall-clock checks: the smoke stage judges only
    the answer's structure, so a tiny instance's small budget cannot reject a program
    the real instances would accept.
    """
    policy = getattr(module, "schedule", None)
    if not callable(policy):
        return "the program defines no schedule(txns, oracle) function"
    budget = budget_for(len(txns))
    oracle = Oracle(footprints(txns), budget)
    given = copy.deepcopy(txns)  # a policy that edits its input cannot change the judging
    began = time.perf_counter()
    try:
        returned = policy(given, oracle)
    except Exception as error:  # noqa: BLE001 - any policy failure is a verdict
        return f"policy raised {type(error).__name__}: {error}"[:300]
    wall = time.perf_counter() - began
    order, fault = check_order(returned, len(txns))
    if order is None:
        return fault
    if limits and oracle.used > budget:
        return (
            f"used {oracle.used / budget:.2f}x its oracle budget ({oracle.used} of {budget} steps)"
        )
    if limits and wall > WALL_CAP_S:
        return f"took {wall:.2f} s, over the {WALL_CAP_S:g} s wall-clock cap per instance"
    return Run(order, simulate(txns, order), oracle.used, budget, wall)
