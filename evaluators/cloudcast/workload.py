"""Seeded broadcast workloads and the fixed train / validation / test splits.

A spec is a small JSON-safe dict: the generator's parameters and an `id`. Everything an
instance holds (source, destinations, volume, required rate and the per-link throughput
limits) is drawn from `random.Random(spec["seed"])`, so a spec names one instance forever.
Destinations cluster on one or two "focal" continents, as real replication targets do;
that clustering is what lets a tree relay through a destination beat separate paths.
"""

from __future__ import annotations

import random
from typing import Any

from .regions import REGIONS, price_table, region_records

# Base throughput limits (Gbps, uniform ranges) by (same cloud, same continent).
LINK_GBPS: dict[tuple[bool, bool], tuple[float, float]] = {
    (True, True): (8.0, 20.0),
    (True, False): (3.0, 10.0),
    (False, True): (2.0, 8.0),
    (False, False): (0.5, 4.0),
}
CONGESTED_FACTOR = (0.1, 0.4)  # a congested link keeps this share of its base limit
REQUIRED_GBPS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
VOLUMES_GB = (100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0)
FOCAL_WEIGHT = 4.0  # a region on a focal continent is this much likelier to be a destination
MAX_DRAWS = 100  # throughput redraws until every destination is reachable


def _spec(split: str, index: int, seed: int, n_destinations: int, congestion: float) -> dict:
    return {
        "id": f"{split}-{index:02d}",
        "seed": seed,
        "n_destinations": n_destinations,
        "congestion": congestion,
    }


def _split(prefix: str, first_seed: int, count: int) -> list[dict[str, Any]]:
    """Destination counts cycle through 3..10 and congestion through 0.1..0.3."""
    return [
        _spec(prefix, i + 1, first_seed + i, 3 + (i * 3) % 8, (0.1, 0.2, 0.3)[i % 3])
        for i in range(count)
    ]


SPLITS: dict[str, list[dict[str, Any]]] = {
    "train": _split("train", 1001, 12),
    "validation": _split("val", 2001, 6),
    "test": _split("test", 3001, 12),
}
SMOKE_SPEC: dict[str, Any] = _spec("smoke", 0, 7, 2, 0.0) | {"id": "smoke"}


def _throughput(rng: random.Random, congestion: float) -> dict[str, dict[str, float]]:
    limits: dict[str, dict[str, float]] = {}
    for s_name, s_cloud, s_continent in REGIONS:
        row = limits[s_name] = {}
        for t_name, t_cloud, t_continent in REGIONS:
            if t_name == s_name:
                continue
            low, high = LINK_GBPS[(s_cloud == t_cloud, s_continent == t_continent)]
            gbps = rng.uniform(low, high)
            if rng.random() < congestion:
                gbps *= rng.uniform(*CONGESTED_FACTOR)
            row[t_name] = round(gbps, 1)
    return limits


def _reachable(source: str, limits: dict[str, dict[str, float]], required: float) -> set[str]:
    seen, stack = {source}, [source]
    while stack:
        node = stack.pop()
        for target, gbps in limits[node].items():
            if gbps >= required and target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def make_instance(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the instance a spec names; redraws limits until the broadcast is feasible."""
    rng = random.Random(spec["seed"])
    names = [name for name, _, _ in REGIONS]
    continents = sorted({continent for _, _, continent in REGIONS})
    source = rng.choice(names)
    focal = set(rng.sample(continents, rng.choice((1, 2))))
    candidates = [r for r in REGIONS if r[0] != source]
    destinations: list[str] = []
    for _ in range(min(spec["n_destinations"], len(candidates))):
        weights = [FOCAL_WEIGHT if c in focal else 1.0 for _, _, c in candidates]
        pick = rng.choices(range(len(candidates)), weights=weights)[0]
        destinations.append(candidates.pop(pick)[0])
    required = rng.choice(REQUIRED_GBPS)
    volume = rng.choice(VOLUMES_GB)
    for _ in range(MAX_DRAWS):
        limits = _throughput(rng, spec["congestion"])
        if set(destinations) <= _reachable(source, limits, required):
            break
    else:
        raise ValueError(f"{spec['id']}: no feasible throughput draw in {MAX_DRAWS} tries")
    return {
        "id": spec["id"],
        "source": source,
        "destinations": destinations,
        "regions": region_records(),
        "price_per_gb": price_table(),
        "throughput_gbps": limits,
        "volume_gb": volume,
        "required_gbps": required,
    }
