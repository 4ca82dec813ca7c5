"""Score a placement policy on the public Prism cases, by the public rules.

The policy runs as on the task's own splits (its own process, copies of the models in,
GPU indices out), so what it returns is all that counts: the evaluator recomputes
every pressure and both references itself. Where the public evaluator is lax, this one
keeps the task's stricter rule: a policy that raises or times out on any case makes
the candidate invalid (the public one drops the case from its mean), and a GPU index
outside the case's GPUs is refused (the public one takes any dict key as a GPU).
"""

from __future__ import annotations

import time
from typing import Any

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
from evoforge.evaluators.model_placement.public_simulator import (
    PublicCase,
    checked_placement,
    judge_case,
    public_greedy_placement,
    summary,
)
from evoforge.evaluators.model_placement.simulator import InvalidPlacement
from evoforge.result import EvaluationResult

WORST_SHOWN = 5


def judge_public(
    program_path: str, instances: list[dict[str, Any]], timeout_s: float
) -> EvaluationResult:
    """The public score (0..100, maximised) with the public figures as metrics."""
    cases: list[PublicCase] = []
    runtimes: list[float] = []
    with CandidateProcess(program_path, timeout_s=timeout_s) as remote:
        if not remote.has("place"):
            return invalid("the program defines no place(models, num_gpus, gpu_memory_gb) function")
        for instance in instances:
            models = [dict(model) for model in instance["models"]]
            started = time.perf_counter()
            try:
                returned = remote.call(
                    "place", models, instance["num_gpus"], instance["gpu_memory_gb"]
                )
            except CandidateRaised as error:
                return invalid(f"{instance['id']}: policy raised {error.short}")
            except CandidateError as error:
                return invalid(f"{instance['id']}: {error}")
            runtimes.append(1000.0 * (time.perf_counter() - started))
            try:
                placement = checked_placement(instance, returned)
            except InvalidPlacement as fault:
                return invalid(f"{instance['id']}: {fault}")
            cases.append(judge_case(instance, placement))
    metrics = summary(cases)
    metrics["policy_runtime_ms"] = sum(runtimes) / len(runtimes)
    return EvaluationResult(
        score=metrics["public_score"],
        metrics=metrics,
        feedback=describe(cases, _greedy_figures(instances)),
        instance_scores={case.id: case.score for case in cases},
    )


def _greedy_figures(instances: list[dict[str, Any]]) -> dict[str, float] | None:
    """The public greedy baseline on the same cases, so the feedback can compare."""
    try:
        return summary([judge_case(i, public_greedy_placement(i)) for i in instances])
    except ValueError:  # a hand-made case greedy cannot fit: no comparison to show
        return None


def describe(cases: list[PublicCase], greedy: dict[str, float] | None) -> str:
    """The public figures in the public units, and the cases with the most points left."""
    figures = summary(cases)
    lines = [
        f"public Prism protocol, {len(cases)} cases: public score "
        f"{figures['public_score']:.2f} of 100 (per case: 0 = round robin, 100 = balanced "
        "bound, the square root of the share of the way between them, clamped; mean over "
        "cases)",
        f"average max KV-cache pressure {figures['public_avg_max_kv_pressure']:.5f} "
        f"(round robin {figures['public_round_robin_avg_max_kv_pressure']:.5f}, balanced "
        f"bound {figures['public_balanced_bound_avg_kv_pressure']:.5f}; lower is better)",
    ]
    if greedy is not None:
        lines.append(
            f"public greedy baseline on these cases: score {greedy['public_score']:.2f}, "
            f"average max pressure {greedy['public_avg_max_kv_pressure']:.5f}"
        )
    at_zero = int(figures["public_cases_at_zero"])
    if at_zero:
        lines.append(f"{at_zero} case(s) score 0: no better than round robin")
    if figures["public_full_gpus"]:
        lines.append(
            f"{int(figures['public_full_gpus'])} GPU(s) filled to exactly their memory count "
            "a pressure of 1,000,000 (public rule): leave every GPU some KV-cache memory"
        )
    worst = sorted(cases, key=lambda case: (case.score, case.id))[:WORST_SHOWN]
    lines.append(
        "lowest cases: "
        + "; ".join(
            f"{case.id} {case.score:.1f} (max pressure {case.max_pressure:.4f}, round robin "
            f"{case.round_robin:.4f}, bound {case.balanced_bound:.4f})"
            for case in worst
        )
    )
    return "\n".join(lines)


def invalid(reason: str) -> EvaluationResult:
    """A refused candidate: the public rules' reason, and what a valid answer is."""
    feedback = (
        f"invalid: {reason}. place() must return one int GPU index in 0..num_gpus-1 per model, "
        "in input order, with no GPU's weights above gpu_memory_gb, and must not raise."
    )
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=feedback)
