"""Seeded transaction workloads and the fixed train / validation / test splits.

A spec is plain JSON (it travels to the sandbox and into the run store), so it spells
out every generator parameter rather than naming a family alone: a stored run can be
re-read later even if the family defaults change. `make_instance` draws only from a
`random.Random(spec["seed"])`, never from global state, so a spec always yields the
same transactions.

Keys are integers ranked by popularity (key 0 is the hottest): each access picks a key
with probability proportional to 1 / (rank + 1) ** skew, which gives the few hot keys
that make real OLTP workloads contend.
"""

from __future__ import annotations

import random
from typing import Any

Spec = dict[str, Any]
Txn = dict[str, Any]

# The workload families of the study's "several workloads": contention, length of the
# transactions and read/write mix vary independently between them.
FAMILIES: dict[str, dict[str, Any]] = {
    "hot_writes": {
        "keys": 80,
        "skew": 1.1,
        "ops": [2, 6],
        "write_ratio": 0.5,
        "durations": "short",
    },
    "low_contention": {
        "keys": 1500,
        "skew": 0.8,
        "ops": [2, 6],
        "write_ratio": 0.3,
        "durations": "short",
    },
    "read_heavy": {
        "keys": 200,
        "skew": 1.0,
        "ops": [3, 8],
        "write_ratio": 0.1,
        "durations": "short",
    },
    "long_mix": {
        "keys": 150,
        "skew": 0.9,
        "ops": [2, 5],
        "write_ratio": 0.4,
        "durations": "bimodal",
    },
}


def make_spec(instance_id: str, seed: int, family: str, n: int) -> Spec:
    """A complete, self-describing spec: the family's parameters written out."""
    return {"id": instance_id, "seed": seed, "family": family, "n": n, **FAMILIES[family]}


def _duration(rng: random.Random, kind: str) -> int:
    """Integer durations keep every simulated time exact (no float rounding to argue about)."""
    if kind == "short":
        return rng.randint(1, 10)
    if kind == "bimodal":  # mostly short, a few long ones that block hot keys for a while
        return rng.randint(20, 60) if rng.random() < 0.15 else rng.randint(1, 5)
    raise ValueError(f"unknown duration kind {kind!r}")


def make_instance(spec: Spec) -> list[Txn]:
    """The transactions of a spec; transaction `i` has id `i`."""
    rng = random.Random(int(spec["seed"]))
    n_keys = int(spec["keys"])
    weights = [1.0 / (rank + 1) ** float(spec["skew"]) for rank in range(n_keys)]
    cumulative: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    low, high = (int(v) for v in spec["ops"])
    txns: list[Txn] = []
    for txn_id in range(int(spec["n"])):
        wanted = min(rng.randint(low, high), n_keys)
        keys: list[int] = []
        while len(keys) < wanted:  # distinct keys, still drawn with the skew
            key = rng.choices(range(n_keys), cum_weights=cumulative)[0]
            if key not in keys:
                keys.append(key)
        writes = sorted(k for k in keys if rng.random() < float(spec["write_ratio"]))
        reads = sorted(k for k in keys if k not in writes)
        txns.append(
            {
                "id": txn_id,
                "reads": reads,
                "writes": writes,
                "duration": _duration(rng, str(spec["durations"])),
            }
        )
    return txns


_FAMILY_CYCLE = ("hot_writes", "low_contention", "read_heavy", "long_mix")


def _split(prefix: str, base_seed: int, sizes: list[int]) -> list[Spec]:
    """Families cycle through a split so every split holds every family."""
    return [
        make_spec(f"{prefix}-{i:02d}", base_seed + i, _FAMILY_CYCLE[i % len(_FAMILY_CYCLE)], n)
        for i, n in enumerate(sizes)
    ]


# Disjoint seed ranges per split; sizes from 60 to 200 transactions.
SPLITS: dict[str, list[Spec]] = {
    "train": _split("train", 1000, [60, 80, 100, 120, 140, 160, 180, 200]),
    "validation": _split("val", 2000, [70, 110, 150, 190]),
    "test": _split("test", 3000, [65, 85, 105, 125, 145, 165, 185, 200]),
}

# The smoke stage's instance: tiny, contended, and in no split.
SMOKE_SPEC: Spec = make_spec("smoke", 7, "hot_writes", 12)
