"""Score a spot-scheduling policy: deadline met on every job, then cost.

Runs inside the sandbox. The candidate is imported once; its `decide(state)` drives
every instance's simulation in order. A rule broken on any instance (an unknown
choice, spot while spot is unavailable, an exception, a missed deadline) makes the
whole candidate invalid, with a reason that names the instance and the tick: a
policy that is late even once is not a cheaper policy, it is a wrong one.

The program runs in a process of its own (`evoforge.candidate_process`). There the
task's simulator shows `decide` every state of a job (remote.py), and the choices come
back as one plain list per job; this process replays them through its own simulator,
which rebuilds each state, applies each rule and prices each tick. So a program that
patches the simulator or the scoring can only change what its own policy is shown,
never what it is charged, and one round trip per job replaces one per tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evoforge.candidate_process import CandidateError, CandidateProcess, CandidateRaised
from evoforge.evaluators.spot_scheduling.baselines import MAIN_BASELINE, stored_scores
from evoforge.evaluators.spot_scheduling.feedback import describe
from evoforge.evaluators.spot_scheduling.public_multi_region import (
    is_public_multi,
    multi_job,
    public_multi_result,
)
from evoforge.evaluators.spot_scheduling.public_multi_simulator import MultiJob, simulate_multi
from evoforge.evaluators.spot_scheduling.public_protocol import is_public, public_instance
from evoforge.evaluators.spot_scheduling.public_scoring import public_result
from evoforge.evaluators.spot_scheduling.public_simulator import simulate_public
from evoforge.evaluators.spot_scheduling.simulator import Policy, PolicyFault, simulate
from evoforge.evaluators.spot_scheduling.workload import (
    SMOKE_SPEC,
    SPLITS,
    Instance,
    make_instance,
)
from evoforge.result import EvaluationResult

ADAPTER = Path(__file__).with_name("remote.py")
MULTI_ADAPTER = Path(__file__).with_name("remote_multi.py")
CALL_TIMEOUT_S = 30.0
"""One job's simulation in the policy's process running longer is stopped (the task's
whole evaluation has 60 s)."""
NO_DECIDE = "the program defines no decide(state) function"

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


class _Shown:
    """A choice that was not a string, as the policy's process showed it (its repr)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _job(instance: Instance, protocol: str | None = None) -> dict[str, Any]:
    """The instance as plain data for the policy's process."""
    return {
        "protocol": protocol,
        "id": instance.id,
        "profile": instance.profile,
        "deadline_h": instance.deadline_h,
        "overhead_h": instance.overhead_h,
        "work_h": instance.work_h,
        "available": instance.available,
    }


def _replay(reply: Any) -> Policy:
    """A `decide` for this process's simulator that gives the choices the policy made.

    The policy's exception, where it raised, is raised again at the tick it raised at
    (an exception class of the same name), so the reason reads as it always did.
    """
    choices = reply.get("choices") if isinstance(reply, dict) else None
    raised = reply.get("raised") if isinstance(reply, dict) else None
    if not isinstance(choices, list) or not (
        raised is None
        or (
            isinstance(raised, list)
            and len(raised) == 2
            and all(isinstance(r, str) for r in raised)
        )
    ):
        raise PolicyFault("the policy's process answered something other than its choices")
    remaining = iter(choices)

    def decide(state: dict[str, Any]) -> Any:
        for choice in remaining:
            if isinstance(choice, dict):
                return _Shown(str(choice.get("shown")))
            return choice
        if raised is not None:
            raise type(raised[0], (Exception,), {})(raised[1])
        raise PolicyFault(f"the policy's process gave no choice for tick {state['tick']}")

    return decide


def _run(
    remote: CandidateProcess,
    instances: list[Instance],
    simulate_job: Callable[[Instance, Policy], Any] = simulate,
    protocol: str | None = None,
) -> tuple[list[tuple[Instance, Any]], float] | EvaluationResult:
    """Simulate every instance; the first broken rule ends it with an invalid result."""
    results: list[tuple[Instance, Any]] = []
    seconds = 0.0
    for instance in instances:
        started = time.perf_counter()
        try:
            job = _job(instance, protocol)
            outcome = simulate_job(instance, _replay(remote.call("run", job)))
        except CandidateRaised as error:  # raised past `decide`: SystemExit, say
            return _invalid(f"{instance.id}: policy raised {error.short}")
        except (CandidateError, PolicyFault) as fault:
            return _invalid(f"{instance.id}: {fault}")
        seconds += time.perf_counter() - started
        results.append((instance, outcome))
    return results, seconds


def _policy(program_path: str) -> CandidateProcess:
    return CandidateProcess(program_path, adapter=ADAPTER, timeout_s=CALL_TIMEOUT_S)


def evaluate(program_path: str, instances: list[dict[str, Any]] | None = None) -> EvaluationResult:
    """Mean normalised saving over the instances (training split when none are given)."""
    specs = SPLITS["train"] if instances is None else instances
    if not specs:
        return _invalid("no instances to evaluate")
    multi = sum(is_public_multi(spec) for spec in specs)
    if multi:
        if multi < len(specs):
            return _invalid(
                f"{multi} public multi-region and {len(specs) - multi} other instances in one "
                "evaluation: the multi-region protocol has its own rules and units, so score "
                "them separately"
            )
        return _evaluate_public_multi(program_path, specs)
    public = sum(is_public(spec) for spec in specs)
    if public:
        if public < len(specs):
            return _invalid(
                f"{public} public and {len(specs) - public} own instances in one evaluation: "
                "the public protocol has its own rules and units, so score them separately"
            )
        return _evaluate_public(program_path, specs)
    with _policy(program_path) as remote:
        instances = [make_instance(spec) for spec in specs]  # while the program loads
        if not remote.has("decide"):
            return _invalid(NO_DECIDE)
        ran = _run(remote, instances)
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


def _evaluate_public(program_path: str, specs: list[dict[str, Any]]) -> EvaluationResult:
    """The public harness's rules and units: mean cost in dollars, leaderboard score."""
    with _policy(program_path) as remote:
        try:
            instances = [public_instance(spec) for spec in specs]
        except (KeyError, TypeError, ValueError) as bad:
            return _invalid(f"malformed public instance: {bad}")
        if not remote.has("decide"):
            return _invalid(NO_DECIDE)
        ran = _run(remote, instances, simulate_public, "public")
    if isinstance(ran, EvaluationResult):
        return ran
    return public_result(ran[0])


def _multi_plain(job: MultiJob) -> dict[str, Any]:
    """The job as plain data for the policy's process (remote_multi.py)."""
    return {
        "id": job.id,
        "scenario": job.scenario,
        "regions": list(job.regions),
        "available": [list(zone) for zone in job.available],
        "spot_prices": list(job.spot_prices),
        "gap_s": job.gap_s,
        "work_h": job.work_h,
        "deadline_h": job.deadline_h,
        "overhead_h": job.overhead_h,
    }


def _evaluate_public_multi(program_path: str, specs: list[dict[str, Any]]) -> EvaluationResult:
    """The public multi-region rules and units: average cost in dollars, leaderboard score.

    The policy is `decide_multi(state) -> (region, choice)`, or a single-region `decide`,
    which then stays in each scenario's first zone.
    """
    remote = CandidateProcess(program_path, adapter=MULTI_ADAPTER, timeout_s=CALL_TIMEOUT_S)
    with remote:
        try:
            jobs = [multi_job(spec) for spec in specs]
        except (KeyError, TypeError, ValueError) as bad:
            return _invalid(f"malformed public instance: {bad}")
        if not (remote.has("decide_multi") or remote.has("decide")):
            return _invalid("the program defines neither decide_multi(state) nor decide(state)")
        results = []
        for job in jobs:
            try:
                outcome = simulate_multi(job, _replay(remote.call("run", _multi_plain(job))))
            except CandidateRaised as error:
                return _invalid(f"{job.id}: policy raised {error.short}")
            except (CandidateError, PolicyFault) as fault:
                return _invalid(f"{job.id}: {fault}")
            results.append((job, outcome))
    return public_multi_result(results)


def smoke(program_path: str) -> EvaluationResult:
    """A short 8 h job: catches a missing `decide`, bad return values and crashes fast."""
    with _policy(program_path) as remote:
        if not remote.has("decide"):
            return _invalid(NO_DECIDE)
        ran = _run(remote, [make_instance(SMOKE_SPEC)])
    if isinstance(ran, EvaluationResult):
        return ran
    return EvaluationResult(score=ran[0][0][1].score)
