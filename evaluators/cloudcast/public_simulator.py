"""The public Cloudcast simulator's rules, re-stated: transfer time and cost of a plan.

A plan gives every destination one path per partition (the data is cut into
`num_partitions` equal parts). The overlay is the union of the paths' edges; an edge
carries each distinct partition routed over it once. Rules, as in the public
`BCSimulator`:

- an edge's flow starts at its measured throughput (for the instance's VMs);
- regions are visited in the order they first appear in the plan (destinations in
  order, partitions in order, hops in path order); where the flows into a region sum
  above its provider's ingress limit, every incoming edge is capped at limit / number
  of incoming edges, and likewise outgoing edges against the egress limit. A cap set at
  one region is what later regions sum, so the visiting order matters;
- an edge carrying k partitions takes k x partition GB x 8 / flow seconds; a
  destination's time is the slowest edge on any of its paths, the transfer time the
  slowest destination's (edges run in parallel, no pipelining);
- cost = egress (each edge: k x partition GB x its $/GB) + instance cost: every region
  in the overlay runs `num_vms` VMs at $/h for the transfer time rounded to 0.01 s.

The leaderboard's figure of merit is the summed cost of the 5 configurations, mapped
linearly so $1,199 scores 0 and $626.24 scores 100 (`public_score`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

WORST_TOTAL_USD = 1199.00
"""The leaderboard's total cost that scores 0 (everything dearer is clamped to it)."""
BEST_TOTAL_USD = 626.24
"""The leaderboard's total cost that scores 100 (everything cheaper is clamped to it)."""
GBIT_PER_GB = 8


@dataclass(frozen=True)
class Outcome:
    """What the public simulator reports for one configuration, with its parts."""

    cost_usd: float
    egress_usd: float
    instance_usd: float
    transfer_s: float
    regions: int
    edges: int


def provider(region: str) -> str:
    """The public simulator reads the provider from the name, `<provider>:<region>`."""
    return region.split(":")[0]


def simulate(instance: dict[str, Any], plan: dict[str, list[list[str]]]) -> Outcome:
    """Time and cost of `plan` (destination -> one path per partition), already checked.

    Prices and throughputs come from the instance, never from the plan.
    """
    parts = instance["num_partitions"]
    part_gb = instance["volume_gb"] / parts
    order: dict[str, None] = {}
    carried: dict[tuple[str, str], set[int]] = {}
    for destination in instance["destinations"]:
        for part, path in enumerate(plan[destination]):
            for u, v in zip(path[:-1], path[1:], strict=True):
                order.setdefault(u)
                order.setdefault(v)
                carried.setdefault((u, v), set()).add(part)
    gbps = instance["throughput_gbps"]
    flow = {edge: float(gbps[edge[0]][edge[1]]) for edge in carried}
    into: dict[str, list[tuple[str, str]]] = {r: [] for r in order}
    out: dict[str, list[tuple[str, str]]] = {r: [] for r in order}
    for u, v in carried:
        out[u].append((u, v))
        into[v].append((u, v))
    for region in order:
        cloud = provider(region)
        inflow = sum(flow[e] for e in into[region])
        outflow = sum(flow[e] for e in out[region])
        ingress = instance["ingress_limit_gbps"][cloud]
        egress = instance["egress_limit_gbps"][cloud]
        if inflow > ingress:
            for edge in into[region]:
                flow[edge] = min(flow[edge], ingress / len(into[region]))
        if outflow > egress:
            for edge in out[region]:
                flow[edge] = min(flow[edge], egress / len(out[region]))
    seconds = {e: len(p) * part_gb * GBIT_PER_GB / flow[e] for e, p in carried.items()}
    transfer_s = max(
        seconds[(u, v)]
        for destination in instance["destinations"]
        for path in plan[destination]
        for u, v in zip(path[:-1], path[1:], strict=True)
    )
    price = instance["price_per_gb"]
    egress_usd = sum(len(p) * part_gb * price[u][v] for (u, v), p in carried.items())
    vm_hours = instance["num_vms"] * round(transfer_s, 2) / 3600
    instance_usd = len(order) * vm_hours * instance["instance_usd_per_hour"]
    return Outcome(
        cost_usd=egress_usd + instance_usd,
        egress_usd=egress_usd,
        instance_usd=instance_usd,
        transfer_s=transfer_s,
        regions=len(order),
        edges=len(carried),
    )


def public_score(total_cost_usd: float) -> float:
    """The leaderboard's score of a summed cost: 0 at $1,199, 100 at $626.24, clamped."""
    clamped = max(min(total_cost_usd, WORST_TOTAL_USD), BEST_TOTAL_USD)
    return (WORST_TOTAL_USD - clamped) / (WORST_TOTAL_USD - BEST_TOTAL_USD) * 100


def public_dijkstra(instance: dict[str, Any]) -> dict[str, list[str]]:
    """The leaderboard's baseline: a cheapest path per destination, as networkx finds it.

    Edges into the source are dropped. Ties between equal-cost paths go, as in
    networkx's Dijkstra, to the path found first: regions leave the queue by (cost,
    order of being queued), and a region's neighbours are met in the order of the
    instance's `throughput_gbps` row (the profile's row order); an equal-cost path met
    later never replaces one already found.
    """
    source, price = instance["source"], instance["price_per_gb"]
    dist: dict[str, float] = {}
    seen = {source: 0.0}
    paths = {source: [source]}
    queue: list[tuple[float, int, str]] = [(0.0, 0, source)]
    count = 1
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node in dist:
            continue
        dist[node] = cost
        for target in instance["throughput_gbps"][node]:
            if target == source:
                continue
            through = cost + price[node][target]
            if target not in dist and (target not in seen or through < seen[target]):
                seen[target] = through
                paths[target] = paths[node] + [target]
                heapq.heappush(queue, (through, count, target))
                count += 1
    return {d: paths[d] for d in instance["destinations"]}
