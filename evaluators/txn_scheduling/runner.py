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
from .public_simulator import PublicScheduleState, public_footprints, public_makespan
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

    In this process: for the baselines, whose code is the task's own. A candidate runs
    in a process of its own (evaluate.py) and is judged by `judge` alike.
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
    return judge(returned, oracle.used, budget, wall, txns, limits=limits)


def judge(
    returned: Any, used: int, budget: int, wall: float, txns: list[dict[str, Any]], *, limits: bool
) -> Run | str:
    """Check an answer against the rules and simulate it, or say what breaks a rule."""
    order, fault = check_order(returned, len(txns))
    if order is None:
        return fault
    if limits and (fault := _over_limits(used, budget, wall)):
        return fault
    return Run(order, simulate(txns, order), used, budget, wall)


def _over_limits(used: int, budget: int, wall: float) -> str:
    if used > budget:
        return f"used {used / budget:.2f}x its oracle budget ({used} of {budget} steps)"
    if wall > WALL_CAP_S:
        return f"took {wall:.2f} s, over the {WALL_CAP_S:g} s wall-clock cap per instance"
    return ""


@dataclass(frozen=True)
class PublicRun:
    """A policy's valid schedule on one public workload, timed by the public model."""

    order: list[int]
    makespan: int
    used: int
    budget: int
    wall_s: float


def judge_public(
    returned: Any, used: int, budget: int, wall: float, txns: list[dict[str, Any]]
) -> PublicRun | str:
    """`judge` on the public protocol: the same checks and limits (the public evaluator
    has neither budget nor per-workload cap: evoforge is stricter), then the public
    model's makespan of the order, whatever the policy itself believes it to be."""
    order, fault = check_order(returned, len(txns))
    if order is None:
        return fault
    if fault := _over_limits(used, budget, wall):
        return fault
    return PublicRun(order, public_makespan(public_footprints(txns), order), used, budget, wall)


def run_public_policy(module: Any, txns: list[dict[str, Any]]) -> PublicRun | str:
    """`run_policy` on a public workload, in this process (for the shipped baselines)."""
    policy = getattr(module, "schedule", None)
    if not callable(policy):
        return "the program defines no schedule(txns, oracle) function"
    budget = budget_for(len(txns))
    oracle = Oracle(public_footprints(txns), budget, PublicScheduleState)
    given = copy.deepcopy(txns)
    began = time.perf_counter()
    try:
        returned = policy(given, oracle)
    except Exception as error:  # noqa: BLE001 - any policy failure is a verdict
        return f"policy raised {type(error).__name__}: {error}"[:300]
    return judge_public(returned, oracle.used, budget, time.perf_counter() - began, txns)
