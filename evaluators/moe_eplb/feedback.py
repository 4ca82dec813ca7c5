"""Feedback for the proposer: where balance was lost, why, and how the baseline did.

A bare score tells a proposer nothing about what to change. For the worst instances this
names the overloaded GPU, the expert that weighs it down and whether the plan was already
unbalanced on the window it was fitted to (a packing or replication problem) or only on
the next one (drift or a spike the plan over- or under-reacted to).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evoforge.evaluators.moe_eplb.simulator import Served
from evoforge.evaluators.moe_eplb.workload import GPUS_PER_NODE, SLOTS_PER_GPU

if TYPE_CHECKING:
    from evoforge.evaluators.moe_eplb.evaluate import InstanceRun

DRIFT_GAP = 0.05  # a plan this much better on its own window lost balance to drift
WORST_SHOWN = 3


@dataclass(frozen=True)
class Diagnosis:
    """The worst (window pair, layer) of an instance and what made it bad."""

    pair: int
    layer: int
    balancedness: float
    own_balancedness: float
    gpu: int
    peak_ratio: float
    expert: int
    replicas: int
    growth: float  # the expert's load on the scored window / on the planning window
    share: float  # the expert's part of the hot GPU's load

    @classmethod
    def of(
        cls,
        pair: int,
        layer: int,
        plan: np.ndarray,
        window: np.ndarray,
        upcoming: np.ndarray,
        served: Served,
        own: Served,
    ) -> Diagnosis:
        loads = served.gpu_load[layer]
        gpu = int(np.argmax(loads))
        slots = served.slot_load[layer, gpu * SLOTS_PER_GPU : (gpu + 1) * SLOTS_PER_GPU]
        slot = gpu * SLOTS_PER_GPU + int(np.argmax(slots))
        expert = int(plan[layer, slot])
        return cls(
            pair=pair,
            layer=layer,
            balancedness=float(served.balancedness[layer]),
            own_balancedness=float(own.balancedness[layer]),
            gpu=gpu,
            peak_ratio=float(loads.max() / loads.mean()),
            expert=expert,
            replicas=int(served.replicas[layer, expert]),
            growth=float(upcoming[layer, expert] / window[layer, expert]),
            share=float(served.slot_load[layer, slot] / loads[gpu]),
        )

    def why(self) -> str:
        cause = (
            f"the plan balanced {self.own_balancedness:.3f} on its own window, so drift or a "
            "spike cost this; hedge against load changes"
            if self.own_balancedness - self.balancedness > DRIFT_GAP
            else f"already only {self.own_balancedness:.3f} on its own window: "
            "replication or packing is the problem"
        )
        return (
            f"pair {self.pair} layer {self.layer} at {self.balancedness:.3f}: GPU {self.gpu} "
            f"(node {self.gpu // GPUS_PER_NODE}) carried {self.peak_ratio:.2f}x the mean; "
            f"expert {self.expert} ({self.replicas} replica(s), load x{self.growth:.2f} vs the "
            f"planning window) was {100 * self.share:.0f}% of it; {cause}"
        )


def describe(
    runs: Sequence[InstanceRun], baseline: dict[str, float], metrics: dict[str, float]
) -> str:
    """A compact report: scores, the worst instances explained, the baseline comparison."""
    lines = [
        f"balancedness (mean/max GPU load on the next window) {metrics['balancedness']:.4f}; "
        f"on the planning windows {metrics['in_window_balancedness']:.4f}; "
        f"runtime {1000 * metrics['runtime_s']:.2f} ms per call"
        + (
            f" ({metrics['runtime_vs_baseline']:.2f}x the hierarchical baseline)"
            if "runtime_vs_baseline" in metrics
            else ""
        ),
        "per instance: " + ", ".join(f"{r.id} {r.score:.3f}" for r in runs),
    ]
    worst = sorted(runs, key=lambda r: r.score)[:WORST_SHOWN]
    lines.append("worst instances:")
    lines += [f"- {r.id} {r.score:.3f}: {r.worst.why()}" for r in worst]
    known = [r for r in runs if r.id in baseline]
    if known:
        deltas = [r.score - baseline[r.id] for r in known]
        base_mean = float(np.mean([baseline[r.id] for r in known]))
        mine = float(np.mean([r.score for r in known]))
        lines.append(
            f"vs hierarchical baseline on these {len(known)} instances: {mine:.4f} vs "
            f"{base_mean:.4f} ({mine - base_mean:+.4f}); better on "
            f"{sum(d > 0 for d in deltas)}, worse on {sum(d < 0 for d in deltas)}; "
            + ", ".join(f"{r.id} {d:+.3f}" for r, d in zip(known, deltas, strict=True))
        )
    return "\n".join(lines)
