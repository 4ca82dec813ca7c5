"""The greedy placement every score is measured against.

It lives apart from the baseline program so the evaluator never has to import a
candidate-style file to know the reference pressure; `baseline_greedy.py` implements
the same rule for the proposer to read, and the tests check that the two agree.
"""

from __future__ import annotations

from typing import Any

FREE_EPSILON_GB = 1e-9
"""A GPU must keep more than this much memory free: KV cache needs somewhere to live."""


class DoesNotFit(ValueError):
    """Greedy found no GPU with room for a model, so the case is not usable."""


def greedy_placement(
    models: list[dict[str, Any]], num_gpus: int, gpu_memory_gb: float
) -> list[int]:
    """Hottest model first onto the currently least-pressured GPU that still has room.

    This is the heuristic the ADRS case study evolved away from: it balances
    rate/SLO load but ignores how much memory a model takes from the KV cache.
    Ties go to the lower GPU index so the result is deterministic.
    """
    order = sorted(range(len(models)), key=lambda i: (-models[i]["rate"] / models[i]["slo_s"], i))
    load = [0.0] * num_gpus
    used = [0.0] * num_gpus
    placement = [-1] * len(models)
    for i in order:
        size = models[i]["size_gb"]
        best = -1
        best_pressure = float("inf")
        for g in range(num_gpus):
            free = gpu_memory_gb - used[g]
            if free - size <= FREE_EPSILON_GB:
                continue
            pressure = load[g] / free
            if pressure < best_pressure:
                best, best_pressure = g, pressure
        if best < 0:
            raise DoesNotFit(f"model {models[i]['name']} ({size} GB) fits on no GPU")
        placement[i] = best
        load[best] += models[i]["rate"] / models[i]["slo_s"]
        used[best] += size
    return placement
