"""Score a broadcast policy on the public Cloudcast protocol (the ADRS leaderboard's).

The task's `broadcast(...)` runs unchanged: a public instance carries the same
arguments (71 regions, their public prices and throughputs, `required_gbps` 0, since
the public rules have no required rate). An answer's value per destination is either
one path, which every partition follows (as the public Dijkstra baseline does), or a
list of exactly `num_partitions` paths, one per partition. Every path is checked as on
the task's own instances; only the paths come back from the policy's process, and
prices and throughputs are the instance's, so a plan cannot bring its own edge data.

The score is the leaderboard's: the summed cost of the configurations mapped so $1,199
is 0 and $626.24 is 100. On fewer than the 5 configurations the sum is scaled to 5 by
their mean first, so a sample reads on the same scale (on all 5 it is the plain sum).
"""

from __future__ import annotations

from typing import Any

from evoforge.candidate_process import CandidateProcess
from evoforge.result import EvaluationResult

from .evaluate import PolicyFault, call_policy
from .public_simulator import Outcome, public_dijkstra, public_score, simulate
from .simulator import OverlayError, overlay_edges

PUBLIC_CONFIGS = 5
"""The leaderboard sums its cost over 5 configurations."""
PUBLISHED_BASELINE = (
    "the public Dijkstra baseline scores 26.74 ($1,045.86 over the 5 configurations)"
)


class PublicFault(Exception):
    """One public instance made the candidate fail; the message is the full reason."""


def partition_paths(instance: dict[str, Any], answer: Any) -> dict[str, list[list[str]]]:
    """The plan as destination -> one path per partition; raises `OverlayError` if unfit."""
    overlay_edges(instance, _first_paths(instance, answer))  # shape, keys, missing ones
    parts = instance["num_partitions"]
    plan: dict[str, list[list[str]]] = {}
    for destination in instance["destinations"]:
        value = answer[destination]
        if isinstance(value, list) and value and all(isinstance(p, list) for p in value):
            if len(value) != parts:
                raise OverlayError(
                    f"{destination} has {len(value)} partition paths; give one path, or "
                    f"exactly {parts} (one per partition)"
                )
            plan[destination] = value
        else:
            plan[destination] = [value] * parts
    for part in range(parts):
        overlay_edges(instance, {d: plan[d][part] for d in instance["destinations"]})
    return plan


def _first_paths(instance: dict[str, Any], answer: Any) -> Any:
    """Partition 0's paths, so the task's own checks name the first fault they meet."""
    if not isinstance(answer, dict):
        return answer
    first = {}
    for key, value in answer.items():
        per_part = isinstance(value, list) and value and all(isinstance(p, list) for p in value)
        first[key] = value[0] if per_part else value
    return first


def run_public(remote: CandidateProcess, instances: list[dict[str, Any]]) -> EvaluationResult:
    """Plan, check and simulate every public configuration; any fault voids the candidate."""
    outcomes: dict[str, Outcome] = {}
    baselines: dict[str, Outcome] = {}
    seconds = 0.0
    for instance in instances:
        try:
            answer, spent = call_policy(remote, instance)
            plan = partition_paths(instance, answer)
        except PolicyFault as exc:
            return _invalid(str(exc))
        except OverlayError as exc:
            return _invalid(f"{instance['id']}: {exc}")
        seconds += spent
        outcomes[instance["id"]] = simulate(instance, plan)
        reference = public_dijkstra(instance)
        baselines[instance["id"]] = simulate(
            instance, {d: [p] * instance["num_partitions"] for d, p in reference.items()}
        )
    if not outcomes:
        return _invalid("no instances to evaluate")
    count = len(outcomes)
    scale = PUBLIC_CONFIGS / count
    total = sum(o.cost_usd for o in outcomes.values())
    score = public_score(total * scale)
    metrics: dict[str, float] = {
        "public_score": score,
        "public_cost_usd": total,
        "public_egress_usd": sum(o.egress_usd for o in outcomes.values()),
        "public_instance_usd": sum(o.instance_usd for o in outcomes.values()),
        "public_transfer_s": sum(o.transfer_s for o in outcomes.values()),
        "public_baseline_cost_usd": sum(o.cost_usd for o in baselines.values()),
        "policy_seconds": seconds / count,
    }
    for name, outcome in outcomes.items():
        metrics[f"public_cost_usd_{name}"] = outcome.cost_usd
    return EvaluationResult(
        score=score,
        metrics=metrics,
        feedback=_feedback(outcomes, baselines, score, total),
        instance_scores={n: public_score(o.cost_usd * PUBLIC_CONFIGS) for n, o in outcomes.items()},
    )


def _feedback(
    outcomes: dict[str, Outcome], baselines: dict[str, Outcome], score: float, total: float
) -> str:
    lines = [
        f"Public protocol: score {score:.2f} (0 at $1,199, 100 at $626.24 total), total cost "
        f"${total:,.2f} over {len(outcomes)} configuration(s); {PUBLISHED_BASELINE}.",
        "Per configuration (yours vs the Dijkstra baseline):",
    ]
    for name, mine in outcomes.items():
        base = baselines[name]
        lines.append(
            f"- {name}: ${mine.cost_usd:,.2f} = egress ${mine.egress_usd:,.2f} + instances "
            f"${mine.instance_usd:,.2f} ({mine.regions} regions x {mine.transfer_s:,.0f} s); "
            f"{mine.edges} edges. Baseline ${base.cost_usd:,.2f} (egress "
            f"${base.egress_usd:,.2f}, {base.transfer_s:,.0f} s)."
        )
    return "\n".join(lines)


def _invalid(reason: str) -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=reason)
