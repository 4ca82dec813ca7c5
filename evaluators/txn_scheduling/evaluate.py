"""Score a transaction-scheduling policy on a list of workload specs.

Runs inside the sandbox. The candidate is imported once; each instance gets a fresh
counting oracle, and the returned order is checked before it is simulated, so a policy
that drops, repeats or invents a transaction, overspends its oracle budget, raises or
runs past the wall-clock cap makes the whole candidate invalid with a reason naming
the instance. Per instance the score is the `greedy_sampling` baseline's makespan over
the candidate's, minus 0.05 x the fraction of the oracle budget used.

The program runs in a process of its own (`evoforge.candidate_process`), with its
oracle (remote.py); only its order and its step count come back, as plain data, and
this process checks and simulates the order and computes the score. A program that
patches the simulator, the reference or the scoring patches its own copy.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
from evoforge.result import EvaluationResult

from . import feedback
from .oracle import PENALTY, budget_for
from .public_protocol import is_public
from .reference import MAIN_BASELINE, entry, prepare
from .runner import WALL_CAP_S, PublicRun, Run, judge, judge_public
from .simulator import lower_bound
from .workload import SMOKE_SPEC, Spec, make_instance

ADAPTER = Path(__file__).with_name("remote.py")
CALL_TIMEOUT_S = 5 * WALL_CAP_S
"""A `schedule` call running longer is stopped; one that ends over `WALL_CAP_S` is
invalid anyway, so this only cuts a hang short."""
NO_SCHEDULE = "the program defines no schedule(txns, oracle) function"


def run_remote(
    remote: CandidateProcess,
    txns: list[dict[str, Any]],
    *,
    limits: bool = True,
    public: bool = False,
) -> Run | PublicRun | str:
    """`runner.run_policy` for a program in its own process: the checked run, or a fault.

    `public`: the policy's oracle and the judging use the public benchmark's model.
    """
    budget = budget_for(len(txns))
    began = time.perf_counter()
    try:
        if public:
            reply = remote.call("schedule", txns, budget, public=True)
        else:
            reply = remote.call("schedule", txns, budget)
    except CandidateRaised as error:  # any policy failure is a verdict
        return f"policy raised {error.short}"[:300]
    except CandidateError as error:
        return str(error)[:300]
    wall = time.perf_counter() - began
    kind = reply.get("type") if isinstance(reply, dict) else None
    used = reply.get("used") if isinstance(reply, dict) else None
    if not isinstance(kind, str) or type(used) is not int or used < 0:
        return "the policy's process answered something other than an order and a step count"
    if kind not in ("list", "tuple"):
        return f"schedule() returned {kind[:80]}, not a list of ints"
    if public:
        return judge_public(reply.get("order"), used, budget, wall, txns)
    return judge(reply.get("order"), used, budget, wall, txns, limits=limits)


def evaluate(program_path: str, instances: list[Spec]) -> EvaluationResult:
    """Run the policy on every instance; invalid as soon as one instance is.

    Public instances (`"protocol": "public"`) are scored by the public rules instead
    (`public_evaluate.py`); a list mixing them with the task's own is refused, since
    the two scores are on different scales.
    """
    if not instances:
        return _invalid("the task gave no instances to evaluate")
    public = [is_public(spec) for spec in instances]
    if any(public):
        if not all(public):
            return _invalid(
                "public and own instances in one evaluation: the public protocol is "
                "scored on its own scale, so evaluate them separately"
            )
        from .public_evaluate import evaluate_public

        return evaluate_public(program_path, instances)
    prepare(instances)  # the reference figures, read before any candidate code runs
    reports: list[feedback.InstanceReport] = []
    walls: list[float] = []
    bound_ratios: list[float] = []
    with CandidateProcess(program_path, adapter=ADAPTER, timeout_s=CALL_TIMEOUT_S) as remote:
        built = [make_instance(spec) for spec in instances]  # while the program loads
        if not remote.has("schedule"):
            return _invalid(f"{instances[0]['id']}: {NO_SCHEDULE}")
        runs = []
        for spec, txns in zip(instances, built, strict=True):
            run = run_remote(remote, txns)
            if not isinstance(run, Run):
                return _invalid(f"{spec['id']}: {run}")
            runs.append((spec, txns, run))
    for spec, txns, run in runs:
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
    with CandidateProcess(program_path, adapter=ADAPTER, timeout_s=CALL_TIMEOUT_S) as remote:
        if not remote.has("schedule"):
            return _invalid(f"{SMOKE_SPEC['id']}: {NO_SCHEDULE}")
        run = run_remote(remote, make_instance(SMOKE_SPEC), limits=False)
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
