"""Baseline `greedy`: hottest model first onto the least-pressured GPU that has room.

Models are sorted by request pressure (rate / SLO), highest first; each goes to the
GPU whose current KV-cache pressure is lowest among those that can still hold its
weights with some memory left over. It balances load but ignores how much KV-cache
memory each model's weights take away, which is where it loses. Every score in this
task is measured relative to this policy (it scores exactly 1.0 on every case).
"""

from __future__ import annotations


def place(models: list[dict], num_gpus: int, gpu_memory_gb: float) -> list[int]:
    """Return the GPU index for each model, in input order."""
    order = sorted(range(len(models)), key=lambda i: (-models[i]["rate"] / models[i]["slo_s"], i))
    load = [0.0] * num_gpus
    used = [0.0] * num_gpus
    placement = [-1] * len(models)
    for i in order:
        best, best_pressure = -1, float("inf")
        for g in range(num_gpus):
            free = gpu_memory_gb - used[g]
            if free - models[i]["size_gb"] <= 1e-9:
                continue
            if load[g] / free < best_pressure:
                best, best_pressure = g, load[g] / free
        if best < 0:
            raise ValueError(f"model {models[i]['name']} fits on no GPU")
        placement[i] = best
        load[best] += models[i]["rate"] / models[i]["slo_s"]
        used[best] += models[i]["size_gb"]
    return placement
