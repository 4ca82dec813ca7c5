"""Broadcast data from one cloud region to many at the lowest egress bill.

`broadcast(...)` returns, for every destination, the list of regions its data passes
through, starting at the source. The union of those paths is the overlay; each distinct
edge is paid once (relays forward), and every edge must carry `required_gbps`.

This policy grows a tree: each step searches from every region already in the tree and
attaches the pending destination that is cheapest to reach. The constants in the evolve
block decide how much a region already holding the data is worth as a starting point
and what a hop costs the search. The helpers above the block are plain machinery
(Dijkstra, path bookkeeping) with no numbers worth tuning.
"""

import heapq


def usable_links(throughput_gbps, required_gbps):
    """Per region, the neighbours whose link can carry the required rate, sorted."""
    return {
        u: sorted(v for v, gbps in row.items() if gbps >= required_gbps)
        for u, row in throughput_gbps.items()
    }


def search(starts, weight, usable):
    """Dijkstra from several start regions, each at its own start cost.

    Start regions are never entered from elsewhere, so a traced path leaves the tree
    once. Returns (best, parent): best[r] = (cost, hops, r), parent[r] = previous region
    (None for a start). Ties go to fewer hops, then to the region name.
    """
    best = {node: (cost, 0, node) for node, cost in starts.items()}
    parent = dict.fromkeys(starts)
    queue = sorted(best.values())
    done = set()
    while queue:
        cost, hops, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        for target in usable[node]:
            if target in done or target in starts:
                continue
            key = (cost + weight(node, target), hops + 1, target)
            if target not in best or key < best[target]:
                best[target] = key
                parent[target] = node
                heapq.heappush(queue, key)
    return best, parent


def new_tree(source):
    """The tree before any hop: the source's path and the $/GB paid to reach each region."""
    return {source: [source]}, {source: 0.0}


def attach(target, parent, tree_path, tree_cost, price_per_gb):
    """Add the searched path to `target` to the tree; returns the regions it added."""
    segment = [target]
    while parent[segment[-1]] is not None:
        segment.append(parent[segment[-1]])
    segment.reverse()
    for u, v in zip(segment[:-1], segment[1:], strict=True):
        tree_path[v] = tree_path[u] + [v]
        tree_cost[v] = tree_cost[u] + price_per_gb[u][v]
    return segment[1:]


# EVOLVE-BLOCK-START
REUSE_FACTOR = 0.8  # a tree region starts at this share of what reaching it cost (0: free)
HOP_PENALTY = 0.01  # $/GB added to every hop, to prefer short paths
CROSS_CLOUD_PENALTY = 0.005  # $/GB added to a hop between two clouds
DEST_HOP_SHARE = 1.0  # share of a hop's weight charged when it enters a pending destination


def broadcast(
    source, destinations, regions, price_per_gb, throughput_gbps, volume_gb, required_gbps
):
    """Attach destinations one at a time to a growing tree; return each one's path."""
    cloud_of = {r["name"]: r["provider"] for r in regions}
    usable = usable_links(throughput_gbps, required_gbps)
    tree_path, tree_cost = new_tree(source)
    answer = {}
    while len(answer) < len(destinations):
        pending = {d for d in destinations if d not in answer}

        def weight(u, v, pending=pending):
            """What the search charges for the hop u -> v."""
            cost = price_per_gb[u][v] + HOP_PENALTY
            if cloud_of[u] != cloud_of[v]:
                cost += CROSS_CLOUD_PENALTY
            if v in pending:
                cost *= DEST_HOP_SHARE
            return cost

        starts = {node: REUSE_FACTOR * cost for node, cost in tree_cost.items()}
        best, parent = search(starts, weight, usable)
        target = min(sorted(pending), key=lambda d: best[d])
        for node in attach(target, parent, tree_path, tree_cost, price_per_gb):
            if node in pending:
                answer[node] = tree_path[node]
    return answer


# EVOLVE-BLOCK-END
