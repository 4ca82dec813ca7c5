"""Seeded placement cases: 2G models with realistic sizes, rates and SLOs for G GPUs.

A spec is a small JSON-safe dict (`id`, `seed`, `num_gpus`, optionally
`gpu_memory_gb`, or an explicit `models` list for hand-made cases) and
`make_instance` turns it into the concrete case, always the same for the same spec.
Randomness comes only from `random.Random(seed)`.

Model sizes are fp16 weights (2 GB per billion parameters, plus a few percent of
runtime overhead) of common open model sizes from 7B to 34B; 70B-class models need
140 GB at fp16 and so tensor parallelism over several GPUs, which this one-model-
one-GPU task leaves out. Rates are log-uniform over 0.5..10 req/s (more than an
order of magnitude), SLOs uniform over 0.5..5 s. A draw that the greedy reference
cannot fit is redrawn from the same stream, so every case is feasible.
"""

from __future__ import annotations

import random
from typing import Any

from evoforge.evaluators.model_placement.reference import DoesNotFit, greedy_placement
from evoforge.evaluators.model_placement.simulator import simulate

GPU_MEMORY_GB = 80.0
# (billions of parameters, relative frequency): small models are the most common.
CATALOGUE: tuple[tuple[float, float], ...] = (
    (7.0, 5.0),
    (8.0, 5.0),
    (13.0, 3.0),
    (14.0, 3.0),
    (20.0, 2.0),
    (27.0, 1.5),
    (32.0, 1.0),
    (34.0, 1.0),
)
OVERHEAD = (1.0, 1.08)  # weights plus runtime buffers, as a factor on 2 GB / B params
RATE_RANGE = (0.5, 10.0)  # req/s, drawn log-uniform
SLO_RANGE = (0.5, 5.0)  # seconds, drawn uniform
MAX_DRAWS = 200


def _draw_models(rng: random.Random, count: int) -> list[dict[str, Any]]:
    sizes, weights = zip(*CATALOGUE, strict=True)
    models = []
    for i in range(count):
        params = rng.choices(sizes, weights=weights)[0]
        low, high = RATE_RANGE
        models.append(
            {
                "name": f"m{i:02d}-{params:g}b",
                "size_gb": round(2.0 * params * rng.uniform(*OVERHEAD), 1),
                "rate": round(low * (high / low) ** rng.random(), 3),
                "slo_s": round(rng.uniform(*SLO_RANGE), 2),
            }
        )
    return models


def _finish(spec: dict[str, Any], models: list[dict[str, Any]]) -> dict[str, Any]:
    """Attach the greedy reference, which every score of this case is divided by."""
    num_gpus = int(spec["num_gpus"])
    memory = float(spec.get("gpu_memory_gb", GPU_MEMORY_GB))
    instance = {"id": spec["id"], "num_gpus": num_gpus, "gpu_memory_gb": memory, "models": models}
    reference = simulate(instance, greedy_placement(models, num_gpus, memory))
    instance["reference_max_pressure"] = reference.max_pressure
    return instance


def make_instance(spec: dict[str, Any]) -> dict[str, Any]:
    """The concrete case for a spec; raises `DoesNotFit` only for an unusable explicit case."""
    if "models" in spec:
        return _finish(spec, [dict(model) for model in spec["models"]])
    rng = random.Random(int(spec["seed"]))
    for _ in range(MAX_DRAWS):
        models = _draw_models(rng, 2 * int(spec["num_gpus"]))
        try:
            return _finish(spec, models)
        except DoesNotFit:
            continue
    raise DoesNotFit(f"{spec['id']}: no feasible draw in {MAX_DRAWS} tries")


def _split(prefix: str, first_seed: int, count: int) -> list[dict[str, Any]]:
    """G cycles through 4..10 so every split holds small and large clusters."""
    return [
        {"id": f"{prefix}-{k:02d}", "seed": first_seed + k, "num_gpus": 4 + (k * 3) % 7}
        for k in range(count)
    ]


SPLITS: dict[str, list[dict[str, Any]]] = {
    "train": _split("train", 1000, 25),
    "validation": _split("val", 2000, 10),
    "test": _split("test", 3000, 15),
}

# Tiny fixed case for the smoke stage. Models 0 and 1 fill a GPU exactly (50 + 30 GB),
# so a policy that pairs them is caught by the no-free-memory rule.
SMOKE_SPEC: dict[str, Any] = {
    "id": "smoke",
    "seed": 0,
    "num_gpus": 2,
    "models": [
        {"name": "big-25b", "size_gb": 50.0, "rate": 1.0, "slo_s": 2.0},
        {"name": "mid-15b", "size_gb": 30.0, "rate": 4.0, "slo_s": 1.0},
        {"name": "small-7b", "size_gb": 14.0, "rate": 2.0, "slo_s": 1.0},
        {"name": "tiny-5b", "size_gb": 10.0, "rate": 3.0, "slo_s": 3.0},
    ],
}
