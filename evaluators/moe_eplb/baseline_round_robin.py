"""Round robin: slot s hosts expert s mod 256, whatever the loads.

A load-blind contrast: the spare slots all go to the first experts, and hot experts land
wherever their index puts them, so it shows how much of the score the load-aware
baselines earn.
"""

import numpy as np


def rebalance(
    weight: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int, num_gpus: int
) -> np.ndarray:
    layers, num_logical = np.shape(weight)
    row = np.arange(num_replicas, dtype=np.int64) % num_logical
    return np.tile(row, (layers, 1))
