"""Check a placement and compute the KV-cache pressure it leads to.

A GPU's KV-cache pressure is the request load it must serve (the sum of rate / SLO
over its models) divided by the memory the weights leave for the KV cache. The
higher it is, the sooner requests queue for cache space and miss their SLO, so the
objective is the largest pressure over all GPUs.

Everything here is pure and deterministic: the same placement always gives the same
numbers, whatever machine or process computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any

from evoforge.evaluators.model_placement.reference import FREE_EPSILON_GB


class InvalidPlacement(ValueError):
    """A placement that breaks a rule; the message is the one-line fault."""


@dataclass(frozen=True)
class GpuState:
    """What one GPU ends up holding, kept for the feedback on bad instances."""

    index: int
    models: tuple[int, ...]
    used_gb: float
    free_gb: float
    load: float
    pressure: float


@dataclass(frozen=True)
class Simulation:
    """The outcome of one valid placement on one instance."""

    gpus: tuple[GpuState, ...]
    max_pressure: float
    mean_pressure: float
    lower_bound: float

    @property
    def hottest(self) -> GpuState:
        return max(self.gpus, key=lambda gpu: (gpu.pressure, -gpu.index))


def as_placement(returned: Any, num_models: int) -> list[int]:
    """Read what `place` returned as GPU indices, or say why it is not a placement.

    numpy arrays and tuples are accepted because they are natural to return; bools
    are refused although Python counts them as ints, since they are always a mistake.
    """
    if hasattr(returned, "tolist") and not isinstance(returned, (list, tuple)):
        returned = returned.tolist()
    if not isinstance(returned, (list, tuple)):
        raise InvalidPlacement(
            f"place() returned {type(returned).__name__}, not a list of {num_models} GPU indices"
        )
    if len(returned) != num_models:
        raise InvalidPlacement(
            f"place() returned {len(returned)} GPU indices for {num_models} models "
            "(wrong length: one index per model, in input order)"
        )
    for position, value in enumerate(returned):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise InvalidPlacement(
                f"entry {position} is {value!r} ({type(value).__name__}), not an int GPU index"
            )
    return [int(value) for value in returned]


def simulate(instance: dict[str, Any], returned: Any) -> Simulation:
    """Validate a placement against the instance and compute every GPU's pressure.

    Raises `InvalidPlacement` with the first fault found: the structure, then index
    ranges, then memory (over capacity before no-free-memory, as the former is the
    more useful message).
    """
    models = instance["models"]
    num_gpus = instance["num_gpus"]
    capacity = instance["gpu_memory_gb"]
    placement = as_placement(returned, len(models))
    members: list[list[int]] = [[] for _ in range(num_gpus)]
    for i, gpu in enumerate(placement):
        if not 0 <= gpu < num_gpus:
            raise InvalidPlacement(
                f"model {i} ({models[i]['name']}) placed on GPU {gpu}: "
                f"index out of range 0..{num_gpus - 1}"
            )
        members[gpu].append(i)
    gpus = []
    for g, held in enumerate(members):
        used = sum(models[i]["size_gb"] for i in held)
        free = capacity - used
        if used > capacity:
            raise InvalidPlacement(
                f"GPU {g} over capacity: {used:.1f} GB > {capacity:g} GB "
                f"({', '.join(models[i]['name'] for i in held)})"
            )
        if free <= FREE_EPSILON_GB:
            raise InvalidPlacement(
                f"GPU {g} has no free memory for KV cache: its weights take {used:.1f} GB "
                f"of {capacity:g} GB (free memory must be above zero)"
            )
        load = sum(models[i]["rate"] / models[i]["slo_s"] for i in held)
        gpus.append(GpuState(g, tuple(held), used, free, load, load / free))
    pressures = [gpu.pressure for gpu in gpus]
    return Simulation(
        gpus=tuple(gpus),
        max_pressure=max(pressures),
        mean_pressure=sum(pressures) / len(pressures),
        lower_bound=lower_bound(instance),
    )


def lower_bound(instance: dict[str, Any]) -> float:
    """A pressure no placement can beat, to show how much room a case has left.

    Two bounds, whichever is larger: every model needs at least a GPU of its own
    (rate/SLO over the memory its weights leave), and summing load <= p * free over
    all GPUs gives p >= total load / total free memory.
    """
    models = instance["models"]
    capacity = instance["gpu_memory_gb"]
    total_load = sum(m["rate"] / m["slo_s"] for m in models)
    total_free = instance["num_gpus"] * capacity - sum(m["size_gb"] for m in models)
    alone = max(m["rate"] / m["slo_s"] / (capacity - m["size_gb"]) for m in models)
    return max(alone, total_load / total_free)
