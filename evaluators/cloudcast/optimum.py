"""The exact optimum of an instance: the cheapest Steiner arborescence, by Dreyfus-Wagner.

Not used for scoring. It gives the ceiling a policy can reach (README and feedback), so
a run's progress reads against what is possible, not only against the baseline. Any
valid overlay contains an arborescence from the source spanning the destinations, so no
answer can cost less. The dynamic programme over destination subsets takes 3^k steps
per region; k <= 10 destinations and 22 regions keep it under a second per split.
"""

from __future__ import annotations

from typing import Any

INF = float("inf")


def _distances(instance: dict[str, Any]) -> dict[str, dict[str, float]]:
    """All-pairs cheapest $/GB over the links fast enough for the required rate."""
    prices, limits = instance["price_per_gb"], instance["throughput_gbps"]
    need = instance["required_gbps"]
    nodes = sorted(prices)
    dist = {
        u: {v: 0.0 if u == v else prices[u][v] if limits[u][v] >= need else INF for v in nodes}
        for u in nodes
    }
    for k in nodes:
        row_k = dist[k]
        for i in nodes:
            row_i = dist[i]
            through = row_i[k]
            if through == INF:
                continue
            for j in nodes:
                if through + row_k[j] < row_i[j]:
                    row_i[j] = through + row_k[j]
    return dist


def optimal_price_per_gb(instance: dict[str, Any]) -> float:
    """The least summed $/GB of any valid overlay for this instance."""
    dist = _distances(instance)
    nodes = sorted(dist)
    terminals = instance["destinations"]
    # best[S][u]: cheapest arborescence rooted at u reaching the destinations in bit set S.
    best: dict[int, dict[str, float]] = {
        1 << i: {u: dist[u][t] for u in nodes} for i, t in enumerate(terminals)
    }
    full = (1 << len(terminals)) - 1
    for subset in range(1, full + 1):
        if subset in best:
            continue
        merged = {}
        for v in nodes:
            value, part = INF, (subset - 1) & subset
            while part:
                if part < subset ^ part:  # each split once
                    value = min(value, best[part][v] + best[subset ^ part][v])
                part = (part - 1) & subset
            merged[v] = value
        best[subset] = {u: min(dist[u][v] + merged[v] for v in nodes) for u in nodes}
    return best[full][instance["source"]]
