"""Score a rebalancer: plan on window i, serve window i + 1, measure GPU balance.

Runs inside the sandbox. The candidate is imported once; for every instance its
`rebalance` is called on each window but the last, every plan is validated, and each
valid plan is scored on the window that follows it. A structural fault or an exception
on any instance makes the whole candidate invalid, with the instance named in the reason,
because a balancer that breaks on some traffic cannot be deployed at all.

Wall time per call is measured (and compared with the hierarchical baseline timed in
the same process) but kept out of the score, which must be deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from evoforge.evaluators.loading import load_program
from evoforge.evaluators.moe_eplb import baseline_hierarchical
from evoforge.evaluators.moe_eplb.baseline_data import stored_instance_scores
from evoforge.evaluators.moe_eplb.feedback import Diagnosis, describe
from evoforge.evaluators.moe_eplb.simulator import serve, validate_plan
from evoforge.evaluators.moe_eplb.workload import (
    NUM_GPUS,
    NUM_GROUPS,
    NUM_NODES,
    NUM_PHYSICAL,
    SMOKE_SPEC,
    Instance,
    make_instance,
)
from evoforge.result import EvaluationResult

Policy = Callable[..., Any]


class PolicyFault(Exception):
    """A candidate's answer on one instance is unusable; the message is the reason."""


@dataclass(frozen=True)
class InstanceRun:
    """What one instance's plans achieved, kept for the score, metrics and feedback."""

    id: str
    score: float  # mean next-window balancedness over pairs and layers
    in_window: float  # balancedness of the same plans on the windows they were fitted to
    node_balance: float
    peak_ratio: float  # mean over pairs and layers of max GPU load / mean GPU load
    runtime_s: float  # mean wall seconds per rebalance call
    worst: Diagnosis


def plan_for(policy: Policy, window: np.ndarray) -> tuple[Any, float]:
    """Call the policy on a copy (it may not alter the evaluator's data) and time it."""
    started = time.perf_counter()
    try:
        plan = policy(window.copy(), NUM_PHYSICAL, NUM_GROUPS, NUM_NODES, NUM_GPUS)
    except Exception as exc:  # noqa: BLE001 - any failure of the candidate is its fault
        raise PolicyFault(f"policy raised {type(exc).__name__}: {exc}") from exc
    return plan, time.perf_counter() - started


def run_instance(policy: Policy, instance: Instance) -> InstanceRun:
    """Plan on each window, validate, serve the next window; raise PolicyFault on a fault."""
    scores, fitted, nodes, peaks, times = [], [], [], [], []
    worst: Diagnosis | None = None
    for pair in range(instance.pairs):
        window, upcoming = instance.loads[pair], instance.loads[pair + 1]
        plan, seconds = plan_for(policy, window)
        fault = validate_plan(plan, window)
        if fault:
            raise PolicyFault(f"{fault} (plan from window {pair})")
        served, own = serve(plan, upcoming), serve(plan, window)
        scores.append(served.balancedness)
        fitted.append(own.balancedness)
        nodes.append(served.node_balancedness)
        peaks.append(served.gpu_load.max(axis=1) / served.gpu_load.mean(axis=1))
        times.append(seconds)
        layer = int(np.argmin(served.balancedness))
        candidate = Diagnosis.of(pair, layer, plan, window, upcoming, served, own)
        if worst is None or candidate.balancedness < worst.balancedness:
            worst = candidate
    assert worst is not None  # an instance has at least one window pair
    return InstanceRun(
        id=instance.id,
        score=float(np.mean(scores)),
        in_window=float(np.mean(fitted)),
        node_balance=float(np.mean(nodes)),
        peak_ratio=float(np.mean(peaks)),
        runtime_s=float(np.mean(times)),
        worst=worst,
    )


def baseline_runtime(instances: list[Instance]) -> float:
    """Mean seconds per call of the hierarchical baseline on the same windows."""
    times = [
        plan_for(baseline_hierarchical.rebalance, instance.loads[pair])[1]
        for instance in instances
        for pair in range(instance.pairs)
    ]
    return float(np.mean(times))


def evaluate(program_path: str, instances: list[dict[str, Any]]) -> EvaluationResult:
    """Score the candidate's `rebalance` on every instance spec of the job."""
    return _evaluate(program_path, instances, time_baseline=True)


def smoke(program_path: str) -> EvaluationResult:
    """One tiny fixed instance: does the program load and return a structurally valid plan?"""
    return _evaluate(program_path, [SMOKE_SPEC], time_baseline=False)


def _evaluate(
    program_path: str, specs: list[dict[str, Any]], *, time_baseline: bool
) -> EvaluationResult:
    module = load_program(program_path)
    policy = getattr(module, "rebalance", None)
    if not callable(policy):
        return _invalid("the program defines no rebalance() function")
    if not specs:
        return _invalid("the job has no instances to evaluate")
    built = [make_instance(spec) for spec in specs]
    runs: list[InstanceRun] = []
    for instance in built:
        try:
            runs.append(run_instance(policy, instance))
        except PolicyFault as fault:
            return _invalid(f"{instance.id}: {fault}")
    metrics: dict[str, float] = {
        "balancedness": _mean(r.score for r in runs),
        "in_window_balancedness": _mean(r.in_window for r in runs),
        "node_balancedness": _mean(r.node_balance for r in runs),
        "peak_to_mean_load": _mean(r.peak_ratio for r in runs),
        "runtime_s": _mean(r.runtime_s for r in runs),
    }
    if time_baseline:
        metrics["runtime_vs_baseline"] = metrics["runtime_s"] / max(baseline_runtime(built), 1e-9)
    return EvaluationResult(
        score=metrics["balancedness"],
        metrics=metrics,
        feedback=describe(runs, stored_instance_scores(), metrics),
        instance_scores={r.id: r.score for r in runs},
    )


def _mean(values: Any) -> float:
    return float(np.mean(list(values)))


def _invalid(reason: str) -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=reason)
