"""Check a broadcast overlay against an instance and price it.

Relays store and forward, so data crosses each distinct overlay edge exactly once and
the bill is volume x the summed per-GB price of the distinct edges, however many
destinations share them. Every used edge carries one stream at the required rate, so an
edge whose throughput limit is below that rate cannot be used at all. Faults raise
`OverlayError` with a one-line reason naming the path and the fault.
"""

from __future__ import annotations

from typing import Any

Edge = tuple[str, str]


class OverlayError(ValueError):
    """A structurally invalid answer; the message is the one-line reason."""


def _check_path(instance: dict[str, Any], destination: str, path: Any) -> list[Edge]:
    source = instance["source"]
    prices = instance["price_per_gb"]
    if not isinstance(path, (list, tuple)) or not all(isinstance(r, str) for r in path):
        raise OverlayError(f"path to {destination} is not a list of region names: {path!r:.80}")
    if not path:
        raise OverlayError(f"path to {destination} is empty")
    for region in path:
        if region not in prices:
            raise OverlayError(f"path to {destination} names unknown region {region!r}")
    if path[0] != source:
        raise OverlayError(f"path to {destination} starts at {path[0]}, not at the source {source}")
    if path[-1] != destination:
        raise OverlayError(
            f"path to {destination} ends at {path[-1]}: destination {destination} not reached"
        )
    seen: set[str] = set()
    for region in path:
        if region in seen:
            raise OverlayError(f"path to {destination} visits {region} twice (a cycle)")
        seen.add(region)
    return list(zip(path[:-1], path[1:], strict=True))


def overlay_edges(instance: dict[str, Any], answer: Any) -> list[Edge]:
    """The distinct edges of a valid answer, sorted; raises `OverlayError` otherwise."""
    if not isinstance(answer, dict):
        raise OverlayError(
            f"broadcast() returned {type(answer).__name__}; return a dict destination -> path"
        )
    destinations = instance["destinations"]
    for key in answer:
        if key not in destinations:
            raise OverlayError(f"a path is given for {key!r}, which is not a destination")
    edges: set[Edge] = set()
    for destination in destinations:
        if destination not in answer:
            raise OverlayError(f"destination {destination} is missing (no path to it)")
        edges.update(_check_path(instance, destination, answer[destination]))
    limits = instance["throughput_gbps"]
    need = instance["required_gbps"]
    for u, v in sorted(edges):
        if limits[u][v] < need:
            raise OverlayError(f"{u} -> {v} needs {need:.1f} Gbps, limit {limits[u][v]:.1f}")
    return sorted(edges)


def price_per_gb(instance: dict[str, Any], edges: list[Edge]) -> float:
    """Summed $/GB of the distinct edges, in sorted order so the float is reproducible."""
    prices = instance["price_per_gb"]
    return sum(prices[u][v] for u, v in sorted(edges))


def overlay_cost(instance: dict[str, Any], edges: list[Edge]) -> float:
    """Dollars to broadcast the instance's volume over these edges."""
    return instance["volume_gb"] * price_per_gb(instance, edges)


def describe(instance: dict[str, Any], edges: list[Edge]) -> dict[str, Any]:
    """Counts that explain a cost: what kinds of edges the overlay pays for."""
    where = {r["name"]: (r["provider"], r["continent"]) for r in instance["regions"]}
    used = {region for edge in edges for region in edge}
    prices = instance["price_per_gb"]
    priciest = sorted(edges, key=lambda e: (-prices[e[0]][e[1]], e))
    return {
        "cost_usd": overlay_cost(instance, edges),
        "price_per_gb": price_per_gb(instance, edges),
        "edges": len(edges),
        "cross_cloud_edges": sum(where[u][0] != where[v][0] for u, v in edges),
        "intercontinental_edges": sum(where[u][1] != where[v][1] for u, v in edges),
        "relays": len(used - {instance["source"], *instance["destinations"]}),
        "priciest": [(u, v, prices[u][v]) for u, v in priciest[:3]],
    }
