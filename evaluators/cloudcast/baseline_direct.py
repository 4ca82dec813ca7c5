"""Baseline `direct`: send to every destination straight from the source.

What a script without any overlay does: one direct transfer per destination, falling
back to the cheapest relayed path only where the direct link cannot carry the required
rate. It shows how much relaying alone is worth.
"""

import heapq


def cheapest_path(source, target, price_per_gb, throughput_gbps, required_gbps):
    """Dijkstra on price over the usable links; ties go to fewer hops, then names."""
    queue = [(0.0, 0, source, (source,))]
    done = set()
    while queue:
        cost, hops, node, path = heapq.heappop(queue)
        if node == target:
            return list(path)
        if node in done:
            continue
        done.add(node)
        for nxt in sorted(price_per_gb[node]):
            if nxt not in done and throughput_gbps[node][nxt] >= required_gbps:
                step = (cost + price_per_gb[node][nxt], hops + 1, nxt, path + (nxt,))
                heapq.heappush(queue, step)
    raise ValueError(f"{target} cannot be reached from {source}")


def broadcast(
    source, destinations, regions, price_per_gb, throughput_gbps, volume_gb, required_gbps
):
    """The direct link where it is fast enough, else the cheapest relayed path."""
    answer = {}
    for destination in destinations:
        if throughput_gbps[source][destination] >= required_gbps:
            answer[destination] = [source, destination]
        else:
            answer[destination] = cheapest_path(
                source, destination, price_per_gb, throughput_gbps, required_gbps
            )
    return answer
