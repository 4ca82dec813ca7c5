"""Score a placement policy: run `place` on every case, validate, simulate, compare.

Runs inside the sandbox. The policy runs in a process of its own
(`evoforge.candidate_process`): `place` gets copies of the models as plain dicts and
only its list of GPU indices comes back, so the simulator and the scoring here are out
of the candidate's reach. Each case's score is the greedy reference's largest
KV-cache pressure divided by the candidate's, so greedy scores exactly 1.0
everywhere and cases of different sizes weigh the same in the mean. Any case with a
broken placement, or on which the policy raises, makes the whole candidate invalid
and the reason names that case: a policy that fails anywhere is not deployable.
"""

from __future__ import annotations

import math
import time
from typing import Any

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
from evoforge.evaluators.model_placement.feedback import CaseResult, describe
from evoforge.evaluators.model_placement.public_evaluate import judge_public
from evoforge.evaluators.model_placement.simulator import InvalidPlacement, simulate
from evoforge.evaluators.model_placement.workload import SMOKE_SPEC, SPLITS, make_instance
from evoforge.result import EvaluationResult

CALL_TIMEOUT_S = 30.0
"""A `place` call running longer is stopped and the candidate is invalid (the task's
whole evaluation has 60 s)."""


def evaluate(program_path: str, instances: list[dict[str, Any]] | None = None) -> EvaluationResult:
    """Judge the candidate on the job's cases (the training split when none are given).

    Public Prism cases (`"protocol": "public"`) are judged by the public rules and
    score on the public 0..100 scale, which no mean can share with the task's own
    greedy-relative scores; a job that mixes the two is refused rather than averaged.
    """
    specs = instances if instances is not None else SPLITS["train"]
    public = sum(spec.get("protocol") == "public" for spec in specs)
    if public and public < len(specs):
        reason = (
            f"the job mixes {public} public Prism case(s) with {len(specs) - public} of the "
            "task's own; their scores are on different scales, so judge them in separate calls"
        )
        return EvaluationResult(score=None, valid=False, reason=reason, feedback=reason)
    if public:
        return judge_public(program_path, specs, CALL_TIMEOUT_S)
    return _judge(program_path, specs, True)


def smoke(program_path: str) -> EvaluationResult:
    """A quick structural check on one tiny fixed case, so a broken program stops early."""
    return _judge(program_path, [SMOKE_SPEC], False)


def _judge(program_path: str, specs: list[dict[str, Any]], full: bool) -> EvaluationResult:
    with CandidateProcess(program_path, timeout_s=CALL_TIMEOUT_S) as remote:
        instances = [make_instance(spec) for spec in specs]  # while the program loads
        if not remote.has("place"):
            return _invalid(
                "the program defines no place(models, num_gpus, gpu_memory_gb) function"
            )
        cases = []
        for spec, instance in zip(specs, instances, strict=True):
            models = [dict(model) for model in instance["models"]]
            started = time.perf_counter()
            try:
                returned = remote.call(
                    "place", models, instance["num_gpus"], instance["gpu_memory_gb"]
                )
            except CandidateRaised as error:  # any policy failure is the candidate's fault
                return _invalid(f"{spec['id']}: policy raised {error.short}")
            except CandidateError as error:
                return _invalid(f"{spec['id']}: {error}")
            runtime_ms = 1000.0 * (time.perf_counter() - started)
            try:
                simulation = simulate(instance, returned)
            except InvalidPlacement as fault:
                return _invalid(f"{spec['id']}: {fault}")
            cases.append(CaseResult(instance, simulation, runtime_ms))
    scores = {case.instance["id"]: case.score for case in cases}
    mean_score = sum(scores.values()) / len(scores)
    feedback = describe(cases) if full else f"smoke: a valid placement on case {specs[0]['id']}"
    return EvaluationResult(
        score=mean_score, metrics=_metrics(cases), feedback=feedback, instance_scores=scores
    )


def _metrics(cases: list[CaseResult]) -> dict[str, float]:
    """Raw quantities as means over the cases; runtime is reported, never scored."""

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    scores = [case.score for case in cases]
    return {
        "score": mean(scores),
        "geomean_score": math.exp(mean([math.log(s) for s in scores])),
        "worst_score": min(scores),
        "max_pressure": mean([case.simulation.max_pressure for case in cases]),
        "greedy_max_pressure": mean([case.reference for case in cases]),
        "lower_bound": mean([case.simulation.lower_bound for case in cases]),
        "gap_to_bound": mean(
            [case.simulation.max_pressure / case.simulation.lower_bound for case in cases]
        ),
        "imbalance": mean(
            [case.simulation.max_pressure / case.simulation.mean_pressure for case in cases]
        ),
        "cases_better_than_greedy": float(sum(s > 1.0 + 1e-9 for s in scores)),
        "cases_worse_than_greedy": float(sum(s < 1.0 - 1e-9 for s in scores)),
        "policy_runtime_ms": mean([case.runtime_ms for case in cases]),
    }


def _invalid(reason: str) -> EvaluationResult:
    feedback = (
        f"invalid: {reason}. place() must return one int GPU index in 0..num_gpus-1 per model, "
        "in input order, and leave every GPU with its weights strictly under gpu_memory_gb."
    )
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=feedback)
