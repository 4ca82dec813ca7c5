"""Baseline `greedy_tree`: grow one tree, attaching the nearest destination each step.

The Takahashi-Matsuyama heuristic for Steiner trees: every region already in the tree
is a free starting point (data is already there), so each step runs Dijkstra from the
whole tree and attaches the unattached destination that is cheapest to reach, together
with any destinations its new path passes through. Shared expensive hops are paid once.
"""

import heapq


def nearest_from_tree(tree, price_per_gb, throughput_gbps, required_gbps):
    """Dijkstra from every tree region at cost 0; returns (cost, parent) per region."""
    best = {node: (0.0, 0, node) for node in tree}
    parent = {node: None for node in tree}
    queue = sorted(best.values())
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
    return best, parent


def broadcast(
    source, destinations, regions, price_per_gb, throughput_gbps, volume_gb, required_gbps
):
    """Attach destinations one at a time, nearest to the current tree first."""
    tree_path = {source: [source]}
    answer = {}
    while len(answer) < len(destinations):
        best, parent = nearest_from_tree(tree_path, price_per_gb, throughput_gbps, required_gbps)
        pending = [d for d in destinations if d not in answer]
        target = min(pending, key=lambda d: best[d])
        segment = [target]
        while parent[segment[-1]] is not None:
            segment.append(parent[segment[-1]])
        segment.reverse()
        path = tree_path[segment[0]]
        for node in segment[1:]:
            path = path + [node]
            tree_path[node] = path
        for node in segment:
            if node in destinations and node not in answer:
                answer[node] = tree_path[node]
    return answer
