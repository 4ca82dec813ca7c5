"""Score a broadcast policy: run it on each instance, check the overlay, price it.

Runs inside the sandbox. The per-instance score is the cost of the `shortest_paths`
baseline's overlay divided by the candidate's (1.0 = as cheap as the baseline, above 1
= cheaper), so instances with different volumes and prices weigh the same. The
baseline's overlay is recomputed from its module on every instance, which keeps the
score right for any instance list, not only the shipped splits.

The policy runs in a process of its own (`evoforge.candidate_process`): it gets the
instance as plain data (its own copy) and only its paths come back, so the overlay
check, the prices and the baseline here are out of its reach.
"""

from __future__ import annotations

import time
from typing import Any

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
from evoforge.result import EvaluationResult

from . import baseline_shortest_paths
from .feedback import InstanceRecord, write_feedback
from .simulator import OverlayError, describe, overlay_edges
from .workload import SMOKE_SPEC, SPLITS, make_instance

CALL_TIMEOUT_S = 30.0
"""A `broadcast` call running longer is stopped (the task's evaluation has 60 s)."""
ARGUMENTS = (
    "source",
    "destinations",
    "regions",
    "price_per_gb",
    "throughput_gbps",
    "volume_gb",
    "required_gbps",
)
METRICS = ("cost_usd", "price_per_gb", "edges", "cross_cloud_edges", "intercontinental_edges")


class PolicyFault(Exception):
    """One instance made the candidate fail; the message is the full reason."""


def call_policy(remote: CandidateProcess, instance: dict[str, Any]) -> tuple[Any, float]:
    """The policy's answer and its wall time; it gets copies so it cannot edit the limits."""
    arguments = {name: instance[name] for name in ARGUMENTS}
    started = time.perf_counter()
    try:
        answer = remote.call("broadcast", **arguments)
    except CandidateRaised as exc:  # the candidate's own fault, reported per instance
        raise PolicyFault(f"{instance['id']}: policy raised {exc.short}") from None
    except CandidateError as exc:
        raise PolicyFault(f"{instance['id']}: {exc}") from None
    return answer, time.perf_counter() - started


def judge(remote: CandidateProcess, spec: dict[str, Any]) -> InstanceRecord:
    """Run, validate and price one instance against the baseline's overlay."""
    instance = make_instance(spec)
    answer, seconds = call_policy(remote, instance)
    try:
        edges = overlay_edges(instance, answer)
    except OverlayError as exc:
        raise PolicyFault(f"{instance['id']}: {exc}") from exc
    reference = overlay_edges(
        instance, baseline_shortest_paths.broadcast(**{k: instance[k] for k in ARGUMENTS})
    )
    mine, theirs = describe(instance, edges), describe(instance, reference)
    return InstanceRecord(
        instance=instance,
        edges=edges,
        reference_edges=reference,
        stats=mine,
        reference_stats=theirs,
        score=theirs["cost_usd"] / mine["cost_usd"],
        seconds=seconds,
    )


def run_policy(remote: CandidateProcess, specs: list[dict[str, Any]]) -> EvaluationResult:
    """Judge every instance; the first fault makes the whole candidate invalid."""
    records: list[InstanceRecord] = []
    for spec in specs:
        try:
            records.append(judge(remote, spec))
        except PolicyFault as exc:
            return _invalid(str(exc))
    if not records:
        return _invalid("no instances to evaluate")
    count = len(records)
    metrics: dict[str, float] = {
        name: sum(float(r.stats[name]) for r in records) / count for name in METRICS
    }
    metrics["baseline_cost_usd"] = sum(r.reference_stats["cost_usd"] for r in records) / count
    metrics["relays"] = sum(r.stats["relays"] for r in records) / count
    metrics["policy_seconds"] = sum(r.seconds for r in records) / count
    scores = {r.instance["id"]: r.score for r in records}
    metrics["score"] = sum(scores.values()) / count
    return EvaluationResult(
        score=metrics["score"],
        metrics=metrics,
        feedback=write_feedback(records),
        instance_scores=scores,
    )


def evaluate(program_path: str, instances: list[dict[str, Any]] | None = None) -> EvaluationResult:
    """Score the candidate on `instances` (the training split when none are given).

    An import error propagates (`CandidateRaised`, the program's traceback as its
    cause): the harness records it, which says more than a reason line could.
    """
    chosen = SPLITS["train"] if instances is None else instances
    public = [spec.get("protocol") == "public" for spec in chosen]
    if any(public) and not all(public):
        return _invalid(
            "public and task instances in one evaluation: their scores are on different "
            "scales; evaluate the public protocol on its own"
        )
    with CandidateProcess(program_path, timeout_s=CALL_TIMEOUT_S) as remote:
        if not remote.has("broadcast"):
            return _invalid("the program defines no broadcast() function")
        if chosen and all(public):
            from .public_evaluate import run_public

            return run_public(remote, chosen)
        return run_policy(remote, chosen)


def smoke(program_path: str) -> EvaluationResult:
    """One tiny fixed instance: the program loads and returns a valid overlay."""
    return evaluate(program_path, [SMOKE_SPEC])


def _invalid(reason: str) -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=reason)
