"""Score a rebalancer: plan on window i, serve window i + 1, measure GPU balance.

Runs inside the sandbox. The candidate is imported once; for every instance its
`rebalance` is called on each window but the last, every plan is validated, and each
valid plan is scored on the window that follows it. A structural fault or an exception
on any instance makes the whole candidate invalid, with the instance named in the reason,
because a balancer that breaks on some traffic cannot be deployed at all.

Wall time per call is measured (and compared with the hierarchical baseline timed in
the same process) but kept out of the score, which must be deterministic.

The program runs in a process of its own (`evoforge.candidate_process`): each window
goes there as plain lists and each plan comes back as plain data (remote.py), which
this process turns into an array and checks before serving it. So a program that
patches the simulator or the scoring patches its own copy, and the measured wall time
includes moving the window and the plan (about 0.5 ms per call).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
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
ADAPTER = Path(__file__).with_name("remote.py")
CALL_TIMEOUT_S = 30.0
"""A `rebalance` call running longer is stopped (the task's evaluation has 60 s)."""
INTEGER_DTYPE = re.compile(r"u?int(8|16|32|64)")


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


@dataclass(frozen=True)
class Rejected:
    """What the policy's process returned is no plan at all; `reason` says why."""

    reason: str


def plan_for(policy: Policy, window: np.ndarray) -> tuple[Any, float]:
    """Call the policy on a copy (it may not alter the evaluator's data) and time it."""
    started = time.perf_counter()
    try:
        plan = policy(window.copy(), NUM_PHYSICAL, NUM_GROUPS, NUM_NODES, NUM_GPUS)
    except PolicyFault:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the candidate is its fault
        raise PolicyFault(f"policy raised {type(exc).__name__}: {exc}") from exc
    return plan, time.perf_counter() - started


def remote_policy(remote: CandidateProcess) -> Policy:
    """The program's `rebalance`, in its own process: a plan array, or `Rejected`."""

    def rebalance(window: np.ndarray, *sizes: int) -> np.ndarray | Rejected:
        try:
            reply = remote.call("rebalance", window.tolist(), *sizes)
        except CandidateRaised as error:
            raise PolicyFault(f"policy raised {error.short}") from None
        except CandidateError as error:
            raise PolicyFault(str(error)) from None
        return plan_of(reply)

    return rebalance


def plan_of(reply: Any) -> np.ndarray | Rejected:
    """The plan array from what the policy's process sent, or why there is none."""
    if not isinstance(reply, dict) or not isinstance(reply.get("type"), str):
        return Rejected("the policy's process answered something other than a plan")
    if reply["type"] != "ndarray":
        return Rejected(f"rebalance returned {reply['type'][:80]}, expected a numpy.ndarray")
    dtype = str(reply.get("dtype"))[:40]
    if not INTEGER_DTYPE.fullmatch(dtype):
        return Rejected(f"phy2log has dtype {dtype}, expected an integer dtype")
    try:
        plan = np.array(reply.get("values"))
    except (ValueError, TypeError):
        return Rejected("phy2log is not a rectangular array of integers")
    if plan.dtype.kind not in "iu":
        return Rejected(f"phy2log has dtype {plan.dtype}, expected an integer dtype")
    return plan.astype(dtype)


def run_instance(policy: Policy, instance: Instance) -> InstanceRun:
    """Plan on each window, validate, serve the next window; raise PolicyFault on a fault."""
    scores, fitted, nodes, peaks, times = [], [], [], [], []
    worst: Diagnosis | None = None
    for pair in range(instance.pairs):
        window, upcoming = instance.loads[pair], instance.loads[pair + 1]
        plan, seconds = plan_for(policy, window)
        fault = plan.reason if isinstance(plan, Rejected) else validate_plan(plan, window)
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
    if not specs:
        return _invalid("the job has no instances to evaluate")
    with CandidateProcess(program_path, adapter=ADAPTER, timeout_s=CALL_TIMEOUT_S) as remote:
        built = [make_instance(spec) for spec in specs]  # while the program loads
        if not remote.has("rebalance"):
            return _invalid("the program defines no rebalance() function")
        policy = remote_policy(remote)
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
