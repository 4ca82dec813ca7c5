"""Feedback text for the proposer: where the schedule lost time, and against what.

A makespan is the length of one chain of conflicts (each transaction on it started the
moment its predecessor finished), so the most useful explanation of a bad instance is
that chain: how long it is, which key links most of it, and how far the makespan sits
above the lower bound set by that instance's busiest key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .simulator import Simulation, lower_bound

Txn = dict[str, Any]


@dataclass(frozen=True)
class InstanceReport:
    """What the feedback needs about one scored instance."""

    instance_id: str
    family: str
    score: float
    ratio: float  # baseline makespan / candidate makespan
    fraction: float  # share of the oracle budget used
    makespan: float
    baseline_makespan: float
    baseline_score: float  # the main baseline's score on this instance
    txns: list[Txn]
    simulation: Simulation


def critical_chain(txns: list[Txn], sim: Simulation) -> tuple[list[int], Counter[int]]:
    """The chain ending at the last finisher, and the keys its links conflict on."""
    last = max(range(len(txns)), key=lambda i: (sim.finish[i], -i))
    chain = [last]
    while sim.blocker[chain[-1]] >= 0:
        chain.append(sim.blocker[chain[-1]])
    chain.reverse()
    links: Counter[int] = Counter()
    for before, after in zip(chain, chain[1:], strict=False):
        a, b = txns[before], txns[after]
        shared = (set(a["writes"]) & (set(b["reads"]) | set(b["writes"]))) | (
            set(b["writes"]) & set(a["reads"])
        )
        links.update(shared)
    return chain, links


def explain(report: InstanceReport) -> str:
    """Why one instance scored as it did, in one line."""
    chain, links = critical_chain(report.txns, report.simulation)
    bound, bound_key = lower_bound(report.txns)
    where = f"key {bound_key}'s writers" if bound_key >= 0 else "the longest txn"
    text = (
        f"{report.instance_id} ({report.family}, {len(report.txns)} txns): score "
        f"{report.score:.3f}, makespan {report.makespan:g} vs baseline "
        f"{report.baseline_makespan:g} and lower bound {bound:g} ({where}); critical chain "
        f"of {len(chain)} txns"
    )
    if links:
        key, count = links.most_common(1)[0]
        text += f", {count} of its {len(chain) - 1} links wait on key {key}"
    if report.fraction > 0.0:
        text += f"; used {100 * report.fraction:.0f}% of the oracle budget"
    return text


def build(reports: list[InstanceReport], baseline_name: str) -> str:
    """Per-instance scores, the three worst explained, and the baseline comparison."""
    lines = [
        "scores (baseline makespan / yours - 0.05 x budget fraction): "
        + ", ".join(f"{r.instance_id} {r.score:.3f}" for r in reports)
    ]
    worst = sorted(reports, key=lambda r: (r.score, r.instance_id))[:3]
    lines.append("worst instances:")
    lines.extend(f"- {explain(r)}" for r in worst)
    base_mean = sum(r.baseline_score for r in reports) / len(reports)
    mine = sum(r.score for r in reports) / len(reports)
    shorter = sum(r.makespan < r.baseline_makespan for r in reports)
    longer = sum(r.makespan > r.baseline_makespan for r in reports)
    gap = min(reports, key=lambda r: (r.score - r.baseline_score, r.instance_id))
    comparison = (
        f"vs {baseline_name} on the same {len(reports)} instances: mean {mine:.4f} vs "
        f"{base_mean:.4f}; makespan shorter on {shorter}, longer on {longer}"
    )
    if gap.score < gap.baseline_score:
        comparison += (
            f"; largest shortfall {gap.instance_id} ({gap.score:.3f} vs {gap.baseline_score:.3f})"
        )
    lines.append(comparison)
    return "\n".join(lines)
