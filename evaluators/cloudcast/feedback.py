"""The text the proposer reads after an evaluation.

It names the instances where the candidate loses most and says why in terms of the
simulation: which edges it pays for that the baseline does not, the priciest hops, and
where several separate hops cross into the same continent (a tree could pay that
crossing once). It ends with how the shipped baselines did on the same instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .baselines import MAIN, OPTIMUM, stored
from .simulator import Edge

WORST = 3
EQUAL = 1e-9


@dataclass(frozen=True)
class InstanceRecord:
    """One judged instance: the candidate's overlay and the baseline's, priced."""

    instance: dict[str, Any]
    edges: list[Edge]
    reference_edges: list[Edge]
    stats: dict[str, Any]
    reference_stats: dict[str, Any]
    score: float
    seconds: float


def _crossings(record: InstanceRecord) -> str:
    """Continents entered by two or more intercontinental edges of the overlay."""
    continent = {r["name"]: r["continent"] for r in record.instance["regions"]}
    entering: dict[str, int] = {}
    for u, v in record.edges:
        if continent[u] != continent[v]:
            entering[continent[v]] = entering.get(continent[v], 0) + 1
    shared = [f"{n} into {c}" for c, n in sorted(entering.items()) if n > 1]
    if not shared:
        return ""
    return (
        f" Intercontinental hops {', '.join(shared)}: one crossing plus cheap in-continent hops "
        "may replace them."
    )


def _why(record: InstanceRecord) -> str:
    inst, stats = record.instance, record.stats
    prices = inst["price_per_gb"]
    slow = sum(
        gbps < inst["required_gbps"]
        for row in inst["throughput_gbps"].values()
        for gbps in row.values()
    )
    text = (
        f"- {inst['id']} ({record.score:.3f}): ${stats['cost_usd']:,.0f} vs baseline "
        f"${record.reference_stats['cost_usd']:,.0f}; {inst['source']} to "
        f"{len(inst['destinations'])} destinations at {inst['required_gbps']:.1f} Gbps "
        f"({slow} links too slow). Yours: {stats['edges']} edges, "
        f"{stats['cross_cloud_edges']} cross-cloud, {stats['relays']} relays; priciest "
        + ", ".join(f"{u} -> {v} ${p:.3f}/GB" for u, v, p in stats["priciest"][:2])
        + "."
    )
    extra = sorted(set(record.edges) - set(record.reference_edges))
    if record.score < 1.0 - EQUAL and extra:
        text += " Edges the baseline does without: " + ", ".join(
            f"{u} -> {v} ${prices[u][v]:.3f}" for u, v in extra[:4]
        )
        text += "."
    elif abs(record.score - 1.0) <= EQUAL:
        text += " Same bill as the baseline."
    return text + _crossings(record)


def _baselines(ids: list[str]) -> str:
    """Mean score of each stored baseline, and of the optimum, on these instances."""
    parts, ceiling = [], ""
    for name, data in sorted(stored().items()):
        known = [data["instances"][i] for i in ids if i in data["instances"]]
        if len(known) != len(ids):
            continue
        if name == OPTIMUM:
            ceiling = (
                f" The exact optimum (Steiner arborescence) scores {sum(known) / len(known):.3f}."
            )
        else:
            parts.append(f"{name} {sum(known) / len(known):.3f}")
    if not parts:
        return ceiling.strip()
    return "Baselines on these instances: " + ", ".join(parts) + "." + ceiling


def write_feedback(records: list[InstanceRecord]) -> str:
    """A few hundred characters to ~1,500: scores, the worst instances and why, baselines."""
    ids = [r.instance["id"] for r in records]
    mean = sum(r.score for r in records) / len(records)
    better = sum(r.score > 1.0 + EQUAL for r in records)
    worse = sum(r.score < 1.0 - EQUAL for r in records)
    mine = sum(r.stats["cost_usd"] for r in records)
    theirs = sum(r.reference_stats["cost_usd"] for r in records)
    lines = [
        f"score {mean:.4f}: mean over {len(records)} instances of {MAIN} cost / your cost "
        "(1.0 = baseline, higher = cheaper).",
        "per instance: " + ", ".join(f"{r.instance['id']} {r.score:.3f}" for r in records),
        f"vs {MAIN}: cheaper on {better}, equal on {len(records) - better - worse}, dearer "
        f"on {worse}; total bill ${mine:,.0f} vs ${theirs:,.0f}.",
        "worst instances:",
        *[_why(r) for r in sorted(records, key=lambda r: (r.score, r.instance["id"]))[:WORST]],
    ]
    summary = _baselines(ids)
    if summary:
        lines.append(summary)
    return "\n".join(lines)
