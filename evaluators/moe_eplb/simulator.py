"""The placement simulator and the structural validator of a `phy2log` plan.

A plan maps every physical slot to the logical expert it hosts. Serving a window with a
plan sends each expert's tokens evenly to its replicas, so a GPU's load is the sum of
`load / replicas` over its nine slots. MoE layers wait for their slowest GPU, hence the
balance measure: mean GPU load over max GPU load (1.0 is perfect).

The validator is strict because anything it lets through would be a loophole: a plan
that drops an expert serves its tokens nowhere and would look better balanced than it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evoforge.evaluators.moe_eplb.workload import (
    GPUS_PER_NODE,
    NUM_GPUS,
    NUM_LOGICAL,
    NUM_NODES,
    NUM_PHYSICAL,
    SLOTS_PER_GPU,
)


def validate_plan(plan: Any, window: np.ndarray) -> str | None:
    """Why `plan` is not a usable plan for `window` ([layers, experts] loads), or None."""
    layers = window.shape[0]
    if not isinstance(plan, np.ndarray):
        return f"rebalance returned {type(plan).__name__}, expected a numpy.ndarray"
    if plan.shape != (layers, NUM_PHYSICAL):
        return f"phy2log has shape {plan.shape}, expected ({layers}, {NUM_PHYSICAL})"
    if plan.dtype.kind not in "iu":
        return f"phy2log has dtype {plan.dtype}, expected an integer dtype"
    bad = np.argwhere((plan < 0) | (plan >= NUM_LOGICAL))
    if bad.size:
        layer, slot = (int(v) for v in bad[0])
        return (
            f"layer {layer}: slot {slot} holds expert {int(plan[layer, slot])}, "
            f"outside [0, {NUM_LOGICAL})"
        )
    for layer in range(layers):
        replicas = np.bincount(plan[layer], minlength=NUM_LOGICAL)
        orphans = np.flatnonzero((replicas == 0) & (window[layer] > 0))
        if orphans.size:
            expert = int(orphans[0])
            more = f" ({orphans.size - 1} more such experts)" if orphans.size > 1 else ""
            return (
                f"layer {layer}: expert {expert} has load {window[layer, expert]:.1f} "
                f"but no replica{more}"
            )
    return None


@dataclass(frozen=True)
class Served:
    """How one plan serves one window: the loads every GPU and node ends up with."""

    gpu_load: np.ndarray  # [layers, NUM_GPUS]
    replicas: np.ndarray  # [layers, NUM_LOGICAL] replica count per logical expert
    slot_load: np.ndarray  # [layers, NUM_PHYSICAL] load each slot receives

    @property
    def balancedness(self) -> np.ndarray:
        """Per layer: mean GPU load / max GPU load."""
        return self.gpu_load.mean(axis=1) / self.gpu_load.max(axis=1)

    @property
    def node_balancedness(self) -> np.ndarray:
        """Per layer: mean node load / max node load (cross-node traffic proxy)."""
        node = self.gpu_load.reshape(-1, NUM_NODES, GPUS_PER_NODE).sum(axis=2)
        return node.mean(axis=1) / node.max(axis=1)


def serve(plan: np.ndarray, window: np.ndarray) -> Served:
    """Route `window`'s loads through a validated plan."""
    layers = plan.shape[0]
    replicas = np.stack([np.bincount(plan[k], minlength=NUM_LOGICAL) for k in range(layers)])
    per_replica = window / np.maximum(replicas, 1)
    slot_load = np.take_along_axis(per_replica, plan, axis=1)
    gpu_load = slot_load.reshape(layers, NUM_GPUS, SLOTS_PER_GPU).sum(axis=2)
    return Served(gpu_load=gpu_load, replicas=replicas, slot_load=slot_load)
