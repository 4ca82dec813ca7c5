"""Baseline `local_search`: greedy, then moves and swaps off the hottest GPU.

After the greedy start, it repeatedly looks at the GPU with the highest KV-cache
pressure and tries every move of one of its models to another GPU and every swap
of one of its models with a model elsewhere, taking the change that lowers the
pair's larger pressure the most, until no change helps. It shows how much a
placement can gain from search alone, without a smarter construction.
"""

from __future__ import annotations


def _greedy(models: list[dict], num_gpus: int, memory: float) -> list[int]:
    order = sorted(range(len(models)), key=lambda i: (-models[i]["rate"] / models[i]["slo_s"], i))
    load = [0.0] * num_gpus
    used = [0.0] * num_gpus
    placement = [-1] * len(models)
    for i in order:
        best, best_pressure = -1, float("inf")
        for g in range(num_gpus):
            free = memory - used[g]
            if free - models[i]["size_gb"] > 1e-9 and load[g] / free < best_pressure:
                best, best_pressure = g, load[g] / free
        if best < 0:
            raise ValueError(f"model {models[i]['name']} fits on no GPU")
        placement[i] = best
        load[best] += models[i]["rate"] / models[i]["slo_s"]
        used[best] += models[i]["size_gb"]
    return placement


def _pressure(load: float, used: float, memory: float) -> float:
    free = memory - used
    return load / free if free > 1e-9 else float("inf")


def place(models: list[dict], num_gpus: int, gpu_memory_gb: float) -> list[int]:
    """Return the GPU index for each model, in input order."""
    placement = _greedy(models, num_gpus, gpu_memory_gb)
    weight = [m["rate"] / m["slo_s"] for m in models]
    size = [m["size_gb"] for m in models]
    load = [0.0] * num_gpus
    used = [0.0] * num_gpus
    for i, g in enumerate(placement):
        load[g] += weight[i]
        used[g] += size[i]
    for _ in range(50 * len(models)):
        pressures = [_pressure(load[g], used[g], gpu_memory_gb) for g in range(num_gpus)]
        hot = max(range(num_gpus), key=lambda g: pressures[g])
        best_gain, best_change = 1e-12, None
        for i in [k for k in range(len(models)) if placement[k] == hot]:
            for g in range(num_gpus):
                if g == hot:
                    continue
                after = max(
                    _pressure(load[hot] - weight[i], used[hot] - size[i], gpu_memory_gb),
                    _pressure(load[g] + weight[i], used[g] + size[i], gpu_memory_gb),
                )
                if pressures[hot] - after > best_gain:
                    best_gain, best_change = pressures[hot] - after, (i, g, None)
                for j in [k for k in range(len(models)) if placement[k] == g]:
                    dw, ds = weight[j] - weight[i], size[j] - size[i]
                    after = max(
                        _pressure(load[hot] + dw, used[hot] + ds, gpu_memory_gb),
                        _pressure(load[g] - dw, used[g] - ds, gpu_memory_gb),
                    )
                    if pressures[hot] - after > best_gain:
                        best_gain, best_change = pressures[hot] - after, (i, g, j)
        if best_change is None:
            break
        i, g, j = best_change
        for k, target in ((i, g), (j, hot)):
            if k is None:
                continue
            load[placement[k]] -= weight[k]
            used[placement[k]] -= size[k]
            placement[k] = target
            load[target] += weight[k]
            used[target] += size[k]
    return placement
