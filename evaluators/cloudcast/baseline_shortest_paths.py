"""Baseline `shortest_paths`: every destination gets its own cheapest path.

Dijkstra on the per-GB price over the links that can carry the required rate, ties
broken by fewer hops and then by region name so the answer is reproducible. The
overlay is the union of those paths. It never pays for a path dearer than necessary,
but it also never notices that one expensive hop into a far continent could be
shared by several destinations there: the gap a Steiner tree closes.
"""

import heapq


def cheapest_paths(source, price_per_gb, throughput_gbps, required_gbps):
    """Cheapest path from `source` to every region it can reach, as region lists."""
    best = {source: (0.0, 0, source)}
    parent = {source: None}
    queue = [(0.0, 0, source)]
    done = set()
    while queue:
        cost, hops, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        for target in sorted(price_per_gb[node]):
            if throughput_gbps[node][target] < required_gbps or target in done:
                continue
            key = (cost + price_per_gb[node][target], hops + 1, target)
            if target not in best or key < best[target]:
                best[target] = key
                parent[target] = node
                heapq.heappush(queue, key)
    paths = {}
    for node in done:
        path = [node]
        while parent[path[-1]] is not None:
            path.append(parent[path[-1]])
        paths[node] = path[::-1]
    return paths


def broadcast(
    source, destinations, regions, price_per_gb, throughput_gbps, volume_gb, required_gbps
):
    """One cheapest path per destination."""
    paths = cheapest_paths(source, price_per_gb, throughput_gbps, required_gbps)
    return {d: paths[d] for d in destinations}
