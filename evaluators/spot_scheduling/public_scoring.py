"""The public leaderboard's score and report for the Can't Be Late scenarios.

The leaderboard averages the cost of every scenario and scores it between two
anchors: running the whole 48 h job on demand ($146.88) and on spot ($46.71, the same
hours at spot price, unreachable in practice):
`round(100 * clip((146.88 - cost) / (146.88 - 46.71), 0, 1))`. The harness never
checks the deadline, so late scenarios are counted and shown beside the cost rather
than failing the policy.
"""

from __future__ import annotations

from collections import defaultdict

from evoforge.evaluators.spot_scheduling.public_simulator import PublicOutcome
from evoforge.evaluators.spot_scheduling.simulator import on_demand_cost, spot_only_cost
from evoforge.evaluators.spot_scheduling.workload import WORK_H, Instance
from evoforge.result import EvaluationResult

OD_ANCHOR = on_demand_cost(WORK_H)
SPOT_ANCHOR = spot_only_cost(WORK_H)


def normalised(cost: float) -> float:
    """0 at the all-on-demand cost, 1 at the all-spot cost (not clipped)."""
    return (OD_ANCHOR - cost) / (OD_ANCHOR - SPOT_ANCHOR)


def leaderboard_score(mean_cost: float) -> int:
    """The leaderboard's 0-100 score of a mean cost."""
    return round(100 * min(1.0, max(0.0, normalised(mean_cost))))


def public_result(results: list[tuple[Instance, PublicOutcome]]) -> EvaluationResult:
    """Score, metrics in the public units, and feedback on where the cost goes."""
    count = len(results)
    outcomes = [outcome for _, outcome in results]
    mean_cost = sum(o.cost for o in outcomes) / count
    late = [(i, o) for i, o in results if o.late_h > 0]
    score = leaderboard_score(mean_cost)
    metrics: dict[str, float] = {
        "score": float(score),
        "public_score": float(score),
        "public_cost_usd": mean_cost,
        "public_normalised": normalised(mean_cost),
        "late_scenarios": float(len(late)),
        "late_h_max": max((o.late_h for o in outcomes), default=0.0),
        "scenarios": float(count),
        "spot_h": sum(o.spot_ticks for o in outcomes) / 6 / count,
        "on_demand_h": sum(o.on_demand_ticks for o in outcomes) / 6 / count,
        "forced_ticks": sum(o.forced_ticks for o in outcomes) / count,
    }
    return EvaluationResult(
        score=float(score),
        metrics=metrics,
        feedback=_feedback(results, mean_cost, score, late),
        instance_scores={i.id: 100 * normalised(o.cost) for i, o in results},
    )


def _feedback(
    results: list[tuple[Instance, PublicOutcome]],
    mean_cost: float,
    score: int,
    late: list[tuple[Instance, PublicOutcome]],
) -> str:
    cells: dict[str, list[float]] = defaultdict(list)
    traces: dict[str, list[float]] = defaultdict(list)
    for instance, outcome in results:
        cells[f"deadline {instance.deadline_h:g} h, overhead {instance.overhead_h:g} h"].append(
            outcome.cost
        )
        traces[instance.profile].append(outcome.cost)
    lines = [
        f"Public Can't Be Late protocol: mean cost ${mean_cost:.2f} over {len(results)} "
        f"scenarios, leaderboard score {score}/100 (all on demand ${OD_ANCHOR:.2f} = 0, "
        f"all spot ${SPOT_ANCHOR:.2f} = 100).",
        f"Late scenarios (the public harness does not penalise them): {len(late)}"
        + (f", worst {max(o.late_h for _, o in late):.2f} h late." if late else "."),
        "Mean cost by deadline and overhead:",
    ]
    lines += [f"  {cell}: ${sum(c) / len(c):.2f}" for cell, c in cells.items()]
    lines.append("Mean cost by trace:")
    lines += [f"  {trace}: ${sum(c) / len(c):.2f}" for trace, c in sorted(traces.items())]
    worst = sorted(results, key=lambda pair: pair[1].cost, reverse=True)[:3]
    lines.append("Costliest scenarios:")
    lines += [
        f"  {i.id}: ${o.cost:.2f} ({o.on_demand_ticks / 6:.1f} h on demand, "
        f"{o.spot_ticks / 6:.1f} h on spot, {o.forced_ticks} ticks overridden by the forced switch)"
        for i, o in worst
    ]
    return "\n".join(lines)
