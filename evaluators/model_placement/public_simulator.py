"""The public Prism rules: KV-cache pressure, the two reference points and the 0-100 score.

The pressure formula is the task's own (rate / SLO load over the memory the weights
leave), with one public rule added: a GPU filled to exactly its memory is legal and
counts a pressure of 1,000,000, where the task's own splits refuse it. The score of a
case puts the candidate's max pressure between two references: round robin (model i on
GPU i mod G, in the given order) is 0 points and the perfectly balanced bound (total
load / total free memory) is 100; the fraction of that way covered is clamped to [0, 1]
and square-rooted, so early gains count most. The public score is the mean over cases.

`public_greedy_placement` is the public human baseline (the leaderboard's
`initial_program.py`): hottest model (rate / SLO) first onto the least-pressured GPU
that can hold it, exact fills allowed, ties to the lowest GPU index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evoforge.evaluators.model_placement.simulator import InvalidPlacement, as_placement

FULL_GPU_PRESSURE = 1_000_000.0
"""What the public evaluator counts for a GPU left with no free memory."""


@dataclass(frozen=True)
class PublicCase:
    """One case judged by the public rules, with the references its score is built on."""

    id: str
    max_pressure: float
    round_robin: float
    balanced_bound: float
    score: float
    full_gpus: int


def _load(model: dict[str, Any]) -> float:
    return model["rate"] / model["slo_s"]


def checked_placement(instance: dict[str, Any], returned: Any) -> list[int]:
    """The placement as GPU indices, or `InvalidPlacement` naming the first fault.

    Besides the public checks (every model once, no GPU over its memory) an index must
    name one of the case's GPUs: the public evaluator accepts any dict key, so a policy
    could spread models over GPUs the case does not have.
    """
    models = instance["models"]
    num_gpus = instance["num_gpus"]
    placement = as_placement(returned, len(models))
    used = [0.0] * num_gpus
    for i, gpu in enumerate(placement):
        if not 0 <= gpu < num_gpus:
            raise InvalidPlacement(
                f"model {i} ({models[i]['name']}) placed on GPU {gpu}: "
                f"index out of range 0..{num_gpus - 1}"
            )
        used[gpu] += models[i]["size_gb"]
    for gpu, taken in enumerate(used):
        if taken > instance["gpu_memory_gb"]:
            raise InvalidPlacement(
                f"GPU {gpu} over capacity: {taken:g} GB > {instance['gpu_memory_gb']:g} GB"
            )
    return placement


def gpu_pressures(instance: dict[str, Any], placement: list[int]) -> list[float]:
    """Every GPU's KV-cache pressure by the public formula (an empty GPU has 0)."""
    load = [0.0] * instance["num_gpus"]
    used = [0.0] * instance["num_gpus"]
    for model, gpu in zip(instance["models"], placement, strict=True):
        load[gpu] += _load(model)
        used[gpu] += model["size_gb"]
    memory = instance["gpu_memory_gb"]
    return [
        load[g] / (memory - used[g]) if memory - used[g] > 0 else FULL_GPU_PRESSURE
        for g in range(instance["num_gpus"])
    ]


def round_robin_placement(instance: dict[str, Any]) -> list[int]:
    """The public 0-point reference: model i on GPU i mod G, in the case's order."""
    return [i % instance["num_gpus"] for i in range(len(instance["models"]))]


def balanced_bound(instance: dict[str, Any]) -> float:
    """The public 100-point reference: total load over total free memory, as if load
    could be split across GPUs (0 when the weights leave no memory at all)."""
    models = instance["models"]
    free = instance["num_gpus"] * instance["gpu_memory_gb"] - sum(m["size_gb"] for m in models)
    return sum(_load(m) for m in models) / free if free > 0 else 0.0


def case_score(round_robin: float, bound: float, pressure: float) -> float:
    """0..100: the square root of the clamped share of the way from round robin to the bound."""
    if round_robin > bound:
        share = (round_robin - pressure) / (round_robin - bound)
        return 100.0 * min(1.0, max(0.0, share)) ** 0.5
    return 100.0 if pressure <= bound else 0.0


def judge_case(instance: dict[str, Any], placement: list[int]) -> PublicCase:
    """Score one checked placement against the case's two public references."""
    pressures = gpu_pressures(instance, placement)
    worst = max(pressures)
    reference = max(gpu_pressures(instance, round_robin_placement(instance)))
    bound = balanced_bound(instance)
    return PublicCase(
        id=instance["id"],
        max_pressure=worst,
        round_robin=reference,
        balanced_bound=bound,
        score=case_score(reference, bound, worst),
        full_gpus=sum(p == FULL_GPU_PRESSURE for p in pressures),
    )


def public_greedy_placement(instance: dict[str, Any]) -> list[int]:
    """The public human baseline's placement (its score is the leaderboard's 60.82)."""
    models = instance["models"]
    num_gpus = instance["num_gpus"]
    free = [float(instance["gpu_memory_gb"])] * num_gpus
    load = [0.0] * num_gpus
    placement = [-1] * len(models)
    # A stable sort, hottest first: equal loads keep the case's order, as in the original.
    for i in sorted(range(len(models)), key=lambda i: -_load(models[i])):
        fits = [g for g in range(num_gpus) if models[i]["size_gb"] <= free[g] and free[g] > 0]
        if not fits:
            raise ValueError(f"{instance['id']}: model {models[i]['name']} fits on no GPU")
        best = min(fits, key=lambda g: (load[g] / free[g], g))
        placement[i] = best
        load[best] += _load(models[i])
        free[best] -= models[i]["size_gb"]
    return placement


def summary(cases: list[PublicCase]) -> dict[str, float]:
    """The public figures over the cases: the score and the pressures behind it."""

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    return {
        "public_score": mean([case.score for case in cases]),
        "public_avg_max_kv_pressure": mean([case.max_pressure for case in cases]),
        "public_round_robin_avg_max_kv_pressure": mean([case.round_robin for case in cases]),
        "public_balanced_bound_avg_kv_pressure": mean([case.balanced_bound for case in cases]),
        "public_cases_at_zero": float(sum(case.score == 0.0 for case in cases)),
        "public_full_gpus": float(sum(case.full_gpus for case in cases)),
    }
