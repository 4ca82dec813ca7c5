"""Score a transaction-scheduling policy on a list of workload specs.

Runs inside the sandbox. The candidate is imported once; each instance gets a fresh
counting oracle, and the returned order is checked before it is simulated, so a policy
that drops, repeats or invents a transaction, overspends its oracle budget, raises or
runs past the wall-clock cap makes the whole candidate invalid with a reason naming
the instance. Per instance the score is the `greedy_sampling` baseline's makespan over
the candidate's, minus 0.05 x the fraction of the oracle budget used.
"""

from __future__ import annotations

from evoforge.evaluators.loading import load_program
from evoforge.result import EvaluationResult

from . import feedback
from .oracle import PENALTY
from .reference import MAIN_BASELINE, entry
from .runner import Run, run_policy
from .simulator import lower_bound
from .workload import SMOKE_SPEC, Spec, make_instance


def evaluate(program_path: str, instances: list[Spec]) -> EvaluationResult:
    """Run the policy on every instance; invalid as soon as one instance is."""
    if not instances:
        return _invalid("the task gave no instances to evaluate")
    module = load_program(program_path)
    reports: list[feedback.InstanceReport] = []
    walls: list[float] = []
    bound_ratios: list[float] = []
    for spec in instances:
        txns = make_instance(spec)
        run = run_policy(module, txns)
        if not isinstance(run, Run):
            return _invalid(f"{spec['id']}: {run}")
        reference = entry(spec, txns)
        makespan = run.simulation.makespan
        fraction = run.used / run.budget
        ratio = reference["makespan"] / makespan
        reports.append(
            feedback.InstanceReport(
                instance_id=str(spec["id"]),
                family=str(spec.get("family", "")),
                score=ratio - PENALTY * fraction,
                ratio=ratio,
                fraction=fraction,
                makespan=makespan,
                baseline_makespan=reference["makespan"],
                baseline_score=reference["score"],
                txns=txns,
                simulation=run.simulation,
            )
        )
        walls.append(run.wall_s)
        bound_ratios.append(makespan / lower_bound(txns)[0])
    scores = [r.score for r in reports]
    count = len(reports)
    metrics = {
        "makespan": sum(r.makespan for r in reports) / count,
        "baseline_makespan": sum(r.baseline_makespan for r in reports) / count,
        "makespan_ratio": sum(r.ratio for r in reports) / count,
        "budget_fraction": sum(r.fraction for r in reports) / count,
        "lower_bound_gap": sum(bound_ratios) / count,
        "wall_s": sum(walls) / count,
        "max_wall_s": max(walls),
    }
    return EvaluationResult(
        score=sum(scores) / count,
        metrics=metrics,
        feedback=feedback.build(reports, MAIN_BASELINE),
        instance_scores={r.instance_id: r.score for r in reports},
    )


def smoke(program_path: str) -> EvaluationResult:
    """A tiny fixed instance: the program loads and returns a complete, valid order.

    Budget and wall clock are left to the full evaluation (see `run_policy`).
    """
    module = load_program(program_path)
    run = run_policy(module, make_instance(SMOKE_SPEC), limits=False)
    if not isinstance(run, Run):
        return _invalid(f"{SMOKE_SPEC['id']}: {run}")
    return EvaluationResult(score=1.0)


def _invalid(reason: str) -> EvaluationResult:
    return EvaluationResult(
        score=None,
        valid=False,
        reason=reason,
        feedback=f"{reason}\nFix this first: every instance must get a complete, valid "
        "order within the oracle budget, or the candidate scores nothing.",
    )
