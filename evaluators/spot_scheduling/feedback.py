"""Turn simulation outcomes into text a proposer can act on.

Scores alone say that a policy is worse, not why. Each of the worst instances gets
a diagnosis from what the simulation recorded: on demand while spot was available
(slack spent too early, the greedy trap), finishing early after paying for on demand
(too eager), many instance starts (thrashing between types), or simply scarce spot.
"""

from __future__ import annotations

from evoforge.evaluators.spot_scheduling.simulator import Outcome
from evoforge.evaluators.spot_scheduling.workload import Instance

WORST_SHOWN = 3


def diagnose(instance: Instance, outcome: Outcome) -> str:
    """Why one instance cost what it did, most expensive cause first."""
    causes: list[str] = []
    if outcome.on_demand_while_spot_h > 0.5:
        causes.append(
            f"{outcome.on_demand_while_spot_h:.1f} h on demand in ticks where spot was "
            "available (slack spent too early, or spot not resumed)"
        )
    early = instance.deadline_h - outcome.finish_h
    if early > 1.0 and outcome.on_demand_h > 1.0:
        causes.append(
            f"finished {early:.1f} h before the deadline after {outcome.on_demand_h:.1f} h "
            "on demand (waiting for spot was affordable)"
        )
    if outcome.overhead_h > 0.5:
        causes.append(
            f"{outcome.restarts} instance starts lost {outcome.overhead_h:.1f} h of billed work"
        )
    if outcome.availability < 0.5:
        causes.append(f"spot was available only {100 * outcome.availability:.0f}% of the window")
    if not causes:
        causes.append(f"{outcome.on_demand_h:.1f} h on demand, {outcome.spot_h:.1f} h spot")
    return "; ".join(causes)


def describe(
    results: list[tuple[Instance, Outcome]],
    score: float,
    baseline_name: str,
    baseline: dict[str, float],
) -> str:
    """Compact per-instance scores, the worst instances with causes, the baseline gap."""
    lines = [
        f"mean score {score:.4f} over {len(results)} instances (1 = all spot, 0 = all on demand)"
    ]
    known = [(i, o) for i, o in results if i.id in baseline]
    if known:
        mine = sum(o.score for _, o in known) / len(known)
        theirs = sum(baseline[i.id] for i, _ in known) / len(known)
        wins = sum(o.score > baseline[i.id] + 1e-9 for i, o in known)
        losses = sum(o.score < baseline[i.id] - 1e-9 for i, o in known)
        lines.append(
            f"baseline {baseline_name}: {theirs:.4f} on the same {len(known)} instances "
            f"(you {mine - theirs:+.4f}; better on {wins}, worse on {losses})"
        )
    lines.append("per instance: " + ", ".join(f"{i.id} {o.score:.2f}" for i, o in results))
    lines.append("worst:")
    for instance, outcome in sorted(results, key=lambda pair: pair[1].score)[:WORST_SHOWN]:
        versus = f", {baseline_name} {baseline[instance.id]:.2f}" if instance.id in baseline else ""
        lines.append(
            f"- {instance.id} ({instance.deadline_h:g} h deadline, "
            f"overhead {instance.overhead_h:g} h"
            f", spot {100 * outcome.availability:.0f}% available) score {outcome.score:.2f}"
            f"{versus}: {diagnose(instance, outcome)}"
        )
    return "\n".join(lines)
