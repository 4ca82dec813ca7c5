"""Score a spot-scheduling policy: deadline met on every job, then cost.

Runs inside the sandbox. The candidate is imported once; its `decide(state)` drives
every instance's simulation in order. A rule broken on any instance (an unknown
choice, spot while spot is unavailable, an exception, a missed deadline) makes the
whole candidate invalid, with a reason that names the instance and the tick: a
policy that is late even once is not a cheaper policy, it is a wrong one.
"""

from __future__ import annotations

import time
from typing import Any

from evoforge.evaluators.spot_scheduling.baselines import MAIN_BASELINE, stored_scores
from evoforge.evaluators.spot_scheduling.feedback import describe
from evoforge.evaluators.spot_scheduling.loader import MissingPolicy, load_policy
from evoforge.evaluators.spot_scheduling.simulator import Outcome, Policy, PolicyFault, simulate
from evoforge.evaluators.spot_scheduling.workload import (
    SMOKE_SPEC,
    SPLITS,
    Instance,
    make_instance,
)
from evoforge.result import EvaluationResult

METRICS = (
    "cost",
    "spot_h",
    "on_demand_h",
    "on_demand_while_spot_h",
    "idle_h",
    "overhead_h",
    "restarts",
    "preemptions",
    "finish_h",
    "availability",
)


def _invalid(reason: str) -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=reason)


def _run(
    decide: Policy, specs: list[dict[str, Any]]
) -> tuple[list[tuple[Instance, Outcome]], float] | EvaluationResult:
    """Simulate every instance; the first broken rule ends it with an invalid result."""
    results: list[tuple[Instance, Outcome]] = []
    seconds = 0.0
    for spec in specs:
        instance = make_instance(spec)
        started = time.perf_counter()
        try:
            outcome = simulate(instance, decide)
        except PolicyFault as fault:
            return _invalid(f"{instance.id}: {fault}")
        seconds += time.perf_counter() - started
        results.append((instance, outcome))
    return results, seconds


def evaluate(program_path: str, instances: list[dict[str, Any]] | None = None) -> EvaluationResult:
    """Mean normalised saving over the instances (training split when none are given)."""
    specs = SPLITS["train"] if instances is None else instances
    if not specs:
        return _invalid("no instances to evaluate")
    try:
        decide = load_policy(program_path)
    except MissingPolicy as exc:
        return _invalid(str(exc))
    ran = _run(decide, specs)
    if isinstance(ran, EvaluationResult):
        return ran
    results, seconds = ran
    scores = [outcome.score for _, outcome in results]
    score = sum(scores) / len(scores)
    metrics: dict[str, float] = {"score": score}
    for name in METRICS:
        metrics[name] = sum(float(getattr(o, name)) for _, o in results) / len(results)
    metrics["runtime_s"] = seconds / len(results)  # wall clock: informative, never scored
    baseline = stored_scores()[MAIN_BASELINE]
    return EvaluationResult(
        score=score,
        metrics=metrics,
        feedback=describe(results, score, MAIN_BASELINE, baseline),
        instance_scores={instance.id: outcome.score for instance, outcome in results},
    )


def smoke(program_path: str) -> EvaluationResult:
    """A short 8 h job: catches a missing `decide`, bad return values and crashes fast."""
    try:
        decide = load_policy(program_path)
    except MissingPolicy as exc:
        return _invalid(str(exc))
    ran = _run(decide, [SMOKE_SPEC])
    if isinstance(ran, EvaluationResult):
        return ran
    return EvaluationResult(score=ran[0][0][1].score)
