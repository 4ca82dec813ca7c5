"""Hierarchical expert-parallel load balancing (DeepSeek's EPLB heuristic, re-implemented).

Three steps per MoE layer, each a greedy balance of a different unit:

1. expert groups go to nodes, heaviest group first onto the lightest node that still has
   room, so every node hosts the same number of groups and similar total load (keeping
   a group on one node keeps its tokens' traffic inside the node);
2. inside a node, the spare slots become extra replicas, each given to the expert with
   the largest load per replica at that moment;
3. the node's replicas go onto its GPUs, heaviest first onto the least-loaded GPU that
   still has a free slot.

The plan is fitted to the window it is given; how well it holds up on the next window
is what the task scores.
"""

import numpy as np


def balanced_pack(loads: np.ndarray, bins: int, capacity: int) -> list[int]:
    """Bin of each item: heaviest first onto the least-loaded bin with room."""
    totals = [0.0] * bins
    used = [0] * bins
    where = [0] * len(loads)
    for item in np.argsort(-loads, kind="stable"):
        best = min((b for b in range(bins) if used[b] < capacity), key=lambda b: totals[b])
        where[int(item)] = best
        totals[best] += float(loads[item])
        used[best] += 1
    return where


def replicate(loads: np.ndarray, slots: int) -> np.ndarray:
    """Replica count per expert: one each, then the spares to the largest load per replica."""
    counts = np.ones(len(loads), dtype=np.int64)
    for _ in range(slots - len(loads)):
        counts[int(np.argmax(loads / counts))] += 1
    return counts


def rebalance(
    weight: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int, num_gpus: int
) -> np.ndarray:
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    group_size = num_logical // num_groups
    groups_per_node = num_groups // num_nodes
    slots_per_node = num_replicas // num_nodes
    gpus_per_node = num_gpus // num_nodes
    slots_per_gpu = num_replicas // num_gpus
    phy2log = np.empty((layers, num_replicas), dtype=np.int64)
    for layer in range(layers):
        w = weight[layer]
        group_load = w.reshape(num_groups, group_size).sum(axis=1)
        node_of_group = balanced_pack(group_load, num_nodes, groups_per_node)
        for node in range(num_nodes):
            groups = [g for g in range(num_groups) if node_of_group[g] == node]
            experts = np.concatenate(
                [np.arange(g * group_size, (g + 1) * group_size) for g in groups]
            )
            counts = replicate(w[experts], slots_per_node)
            replica_expert = np.repeat(experts, counts)
            replica_load = np.repeat(w[experts] / counts, counts)
            gpu_of = balanced_pack(replica_load, gpus_per_node, slots_per_gpu)
            base = node * slots_per_node
            filled = [0] * gpus_per_node
            for item, gpu in enumerate(gpu_of):
                phy2log[layer, base + gpu * slots_per_gpu + filled[gpu]] = replica_expert[item]
                filled[gpu] += 1
    return phy2log
