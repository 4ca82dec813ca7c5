"""Score a policy on the public protocol: the public workloads, model and score.

The public evaluator takes the total makespan the program reports for its three
workloads and maps it onto 0..100: 0 at the sequential orders' total, 100 at the
theoretical optimum (each workload's longest transaction) moved 10 % towards the
sequential total. Here the policy returns only orders; each is checked and
re-simulated under the public model in this process, so a makespan the program claims
counts for nothing. The scale is computed from the instances given, so the three
public workloads give the published 537 and 95.1, and a subset gets its own scale.

`python -m evoforge.evaluators.txn_scheduling.public_evaluate` prints the public
greedy baseline's total makespan over 20 seeds (it is randomised).
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path
from typing import Any

from evoforge.candidate_process import CandidateProcess
from evoforge.evaluators.loading import load_program
from evoforge.result import EvaluationResult

from .public_protocol import public_instances, public_txns
from .public_simulator import PublicReference, public_footprints, reference
from .runner import PublicRun, run_public_policy

HERE = Path(__file__).parent
PUBLIC_GREEDY_FILE = HERE / "baseline_public_greedy.py"


def scale(instances: list[dict[str, Any]]) -> PublicReference:
    """The public score's 0 and 100 marks for these workloads."""
    return reference([public_footprints(public_txns(inst)) for inst in instances])


def evaluate_public(program_path: str, instances: list[dict[str, Any]]) -> EvaluationResult:
    """Run the policy on every public workload; invalid as soon as one run is."""
    from .evaluate import ADAPTER, CALL_TIMEOUT_S, NO_SCHEDULE, _invalid, run_remote

    built = [public_txns(inst) for inst in instances]  # before any candidate code runs
    whole = scale(instances)
    runs: list[PublicRun] = []
    with CandidateProcess(program_path, adapter=ADAPTER, timeout_s=CALL_TIMEOUT_S) as remote:
        if not remote.has("schedule"):
            return _invalid(f"{instances[0]['id']}: {NO_SCHEDULE}")
        for inst, txns in zip(instances, built, strict=True):
            run = run_remote(remote, txns, public=True)
            if not isinstance(run, PublicRun):
                return _invalid(f"{inst['id']}: {run}")
            runs.append(run)
    total = sum(run.makespan for run in runs)
    score = whole.score(total)
    own = {str(inst["id"]): scale([inst]) for inst in instances}
    lines = [
        f"public protocol: total makespan {total} over {len(runs)} workloads; score "
        f"{score:.2f} of 100 (0 at the sequential orders' {whole.sequential}, 100 at "
        f"{whole.effective_optimal:.1f})",
    ]
    for inst, run in zip(instances, runs, strict=True):
        ref = own[str(inst["id"])]
        lines.append(
            f"{inst['id']} ({len(run.order)} txns): makespan {run.makespan} (sequential "
            f"{ref.sequential}, longest transaction {ref.optimal}); used "
            f"{100 * run.used / run.budget:.0f}% of the oracle budget"
        )
    count = len(runs)
    return EvaluationResult(
        score=score,
        metrics={
            "public_makespan": float(total),
            "public_sequential_makespan": float(whole.sequential),
            "public_effective_optimal": whole.effective_optimal,
            "budget_fraction": sum(run.used / run.budget for run in runs) / count,
            "wall_s": sum(run.wall_s for run in runs) / count,
            "max_wall_s": max(run.wall_s for run in runs),
        },
        feedback="\n".join(lines),
        instance_scores={
            str(inst["id"]): own[str(inst["id"])].score(run.makespan)
            for inst, run in zip(instances, runs, strict=True)
        },
    )


def public_greedy_totals(instances: list[dict[str, Any]], seeds: list[int]) -> list[int]:
    """The public greedy baseline's total makespan for each seed, one random stream per
    seed across the workloads, as the public program draws."""
    totals = []
    for seed in seeds:
        module = load_program(PUBLIC_GREEDY_FILE)
        module.RNG = random.Random(seed)
        total = 0
        for inst in instances:
            run = run_public_policy(module, public_txns(inst))
            if not isinstance(run, PublicRun):
                raise RuntimeError(f"{inst['id']}: the public greedy baseline failed: {run}")
            total += run.makespan
        totals.append(total)
    return totals


def main() -> None:
    instances = public_instances()
    totals = public_greedy_totals(instances, list(range(20)))
    whole = scale(instances)
    print(f"sequential {whole.sequential}, 100-point mark {whole.effective_optimal:.1f}")
    print(f"public_greedy over seeds 0..19: {totals}")
    print(
        f"min {min(totals)}, median {statistics.median(totals)}, mean "
        f"{statistics.mean(totals):.2f}, max {max(totals)}; scores "
        f"{whole.score(max(totals)):.2f} to {whole.score(min(totals)):.2f}"
    )


if __name__ == "__main__":
    main()
