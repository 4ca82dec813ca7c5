"""Expert-parallel load balancer for MoE inference: place 256 experts on 288 GPU slots.

`rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus)` receives one window
of per-expert loads ([layers, 256]) and returns `phy2log` ([layers, 288] integers): the
logical expert each physical slot hosts, nine consecutive slots per GPU. The plan is
scored on the NEXT window: mean GPU load / max GPU load, so a plan must hold up while
popularity drifts and spikes fade. Its wall time per call is reported as well.

This seed is global (it ignores nodes and groups) and cheap: replicas follow a smoothed,
flattened load estimate, the heavy replicas are dealt across GPUs in a snake order and
only the lightest ones are placed greedily. The constants decide how well it balances.
"""

import numpy as np

# EVOLVE-BLOCK-START
SMOOTHING = 0.3  # blend of each load toward the layer mean (hedges against drift)
REPLICA_EXPONENT = 0.7  # spare replicas follow load ** exponent per replica
GREEDY_TAIL = 64  # the lightest replicas placed greedily; the rest dealt in snake order


def estimate(loads: np.ndarray) -> np.ndarray:
    """Load estimate for the next window, relative to the layer mean."""
    relative = loads / loads.mean()
    return (1.0 - SMOOTHING) * relative**REPLICA_EXPONENT + SMOOTHING


def replica_counts(est: np.ndarray, slots: int) -> np.ndarray:
    """One replica per expert, each spare to the largest estimated load per replica."""
    counts = np.ones(len(est), dtype=np.int64)
    for _ in range(slots - len(est)):
        counts[int(np.argmax(est / counts))] += 1
    return counts


def place(replica_load: np.ndarray, num_gpus: int, per_gpu: int) -> np.ndarray:
    """GPU of each replica: heavy ones dealt in snake order, the tail greedily."""
    order = np.argsort(-replica_load, kind="stable")
    tail = min(max(int(GREEDY_TAIL), 0), len(order))
    head = len(order) - tail
    gpu_of = np.empty(len(order), dtype=np.int64)
    position = np.arange(head)
    rounds, column = position // num_gpus, position % num_gpus
    gpu_of[order[:head]] = np.where(rounds % 2 == 0, column, num_gpus - 1 - column)
    dealt = gpu_of[order[:head]]
    totals = np.zeros(num_gpus)
    np.add.at(totals, dealt, replica_load[order[:head]])
    used = np.bincount(dealt, minlength=num_gpus)
    for item in order[head:]:
        gpu = int(np.argmin(np.where(used < per_gpu, totals, np.inf)))
        gpu_of[item] = gpu
        totals[gpu] += replica_load[item]
        used[gpu] += 1
    return gpu_of


# EVOLVE-BLOCK-END


def rebalance(
    weight: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int, num_gpus: int
) -> np.ndarray:
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    per_gpu = num_replicas // num_gpus
    phy2log = np.empty((layers, num_replicas), dtype=np.int64)
    for layer in range(layers):
        est = estimate(weight[layer])
        counts = replica_counts(est, num_replicas)
        replica_expert = np.repeat(np.arange(num_logical), counts)
        gpu_of = place(np.repeat(est / counts, counts), num_gpus, per_gpu)
        # Stable sort by GPU: each GPU's replicas fill its nine consecutive slots.
        phy2log[layer] = replica_expert[np.argsort(gpu_of, kind="stable")]
    return phy2log
