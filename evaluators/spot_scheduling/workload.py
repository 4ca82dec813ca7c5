"""Seeded synthetic spot-availability traces and the task's instance splits.

Each instance is one job on one synthetic trace. The trace comes from a two-state
semi-Markov chain (available and preempted stretches alternating, stretch lengths in
10-minute ticks drawn from a rounded log-normal) whose parameters were fitted by
`fit.py` to the eight public AWS traces of "Can't Be Late" (NSDI '24). A profile is
one real trace's fit, so the splits mix calm zones (95 % available) with scarce ones
(25 %), as the real data does, without shipping the data.

A spec is JSON-safe: ``{"id", "seed", "profile", "deadline_h", "overhead_h"}`` and an
optional ``"work_h"`` (48 by default; the smoke stage uses a short job).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

TICK_H = 1.0 / 6.0  # one 10-minute tick
WORK_H = 48.0
DEADLINES_H = (52.0, 70.0)
OVERHEADS_H = (0.02, 0.05, 0.10)
BURN_IN_TICKS = 1000  # start the window mid-chain, not at the start of a stretch


@dataclass(frozen=True)
class Profile:
    """Fitted figures of one real trace (lengths in ticks; see fit.py)."""

    availability: float
    available_mean: float
    available_mu: float
    available_sigma: float
    preempted_mean: float
    preempted_mu: float
    preempted_sigma: float


# Written by `python -m evoforge.evaluators.spot_scheduling.fit /work/shared/data/spot_traces`.
PROFILES: dict[str, Profile] = {
    "us-west-2a_k80_1": Profile(
        availability=0.9540,
        available_mean=39.439,
        available_mu=2.2581,
        available_sigma=1.6827,
        preempted_mean=1.952,
        preempted_mu=0.4300,
        preempted_sigma=0.6508,
    ),
    "us-west-2a_k80_8": Profile(
        availability=0.5474,
        available_mean=10.955,
        available_mu=1.6944,
        available_sigma=1.1810,
        preempted_mean=8.693,
        preempted_mu=1.4761,
        preempted_sigma=1.1686,
    ),
    "us-west-2a_v100_1": Profile(
        availability=0.6867,
        available_mean=13.724,
        available_mu=1.6384,
        available_sigma=1.3982,
        preempted_mean=6.341,
        preempted_mu=1.2539,
        preempted_sigma=1.0838,
    ),
    "us-west-2a_v100_8": Profile(
        availability=0.3307,
        available_mean=4.148,
        available_mu=0.9426,
        available_sigma=0.9680,
        preempted_mean=8.312,
        preempted_mu=1.3167,
        preempted_sigma=1.2606,
    ),
    "us-west-2b_k80_1": Profile(
        availability=0.2521,
        available_mean=9.140,
        available_mu=1.6162,
        available_sigma=1.0904,
        preempted_mean=27.814,
        preempted_mu=2.0432,
        preempted_sigma=1.6005,
    ),
    "us-west-2b_k80_8": Profile(
        availability=0.5851,
        available_mean=7.761,
        available_mu=1.4602,
        available_sigma=1.0824,
        preempted_mean=5.463,
        preempted_mu=1.0759,
        preempted_sigma=1.1064,
    ),
    "us-west-2b_v100_1": Profile(
        availability=0.5952,
        available_mean=11.618,
        available_mu=1.5557,
        available_sigma=1.3364,
        preempted_mean=8.067,
        preempted_mu=1.2207,
        preempted_sigma=1.3105,
    ),
    "us-west-2b_v100_8": Profile(
        availability=0.3414,
        available_mean=3.489,
        available_mu=0.8247,
        available_sigma=0.9061,
        preempted_mean=6.690,
        preempted_mu=1.2052,
        preempted_sigma=1.1728,
    ),
}

PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)


@dataclass(frozen=True)
class Instance:
    """A concrete job: `available[t]` says whether spot can run in tick t."""

    id: str
    profile: str
    deadline_h: float
    overhead_h: float
    work_h: float
    available: tuple[bool, ...]

    @property
    def deadline_ticks(self) -> int:
        return round(self.deadline_h / TICK_H)


def _stretch(rng: random.Random, mu: float, sigma: float) -> int:
    return max(1, int(math.exp(rng.gauss(mu, sigma)) + 0.5))


def generate_trace(profile: str, seed: int, ticks: int) -> tuple[bool, ...]:
    """`ticks` availability flags from the profile's chain, after a burn-in."""
    fitted = PROFILES[profile]
    rng = random.Random(seed)
    up = rng.random() < fitted.availability
    flags: list[bool] = []
    while len(flags) < BURN_IN_TICKS + ticks:
        if up:
            length = _stretch(rng, fitted.available_mu, fitted.available_sigma)
        else:
            length = _stretch(rng, fitted.preempted_mu, fitted.preempted_sigma)
        flags.extend([up] * length)
        up = not up
    return tuple(flags[BURN_IN_TICKS : BURN_IN_TICKS + ticks])


def check_spec(spec: Any) -> None:
    """Reject a malformed spec with a message naming it (specs may come from users)."""
    if not isinstance(spec, dict):
        raise ValueError(f"an instance spec must be a dict, got {type(spec).__name__}")
    name = spec.get("id", "<no id>")
    for key in ("id", "seed", "profile", "deadline_h", "overhead_h"):
        if key not in spec:
            raise ValueError(f"instance {name}: spec lacks {key!r}")
    if spec["profile"] not in PROFILES:
        raise ValueError(f"instance {name}: unknown profile {spec['profile']!r}")
    if not float(spec["deadline_h"]) >= float(spec.get("work_h", WORK_H)) > 0:
        raise ValueError(f"instance {name}: the deadline must be at least the work")


def make_instance(spec: dict[str, Any]) -> Instance:
    """Build the concrete instance of a spec; the same spec always gives the same trace."""
    check_spec(spec)
    deadline_h = float(spec["deadline_h"])
    return Instance(
        id=str(spec["id"]),
        profile=spec["profile"],
        deadline_h=deadline_h,
        overhead_h=float(spec["overhead_h"]),
        work_h=float(spec.get("work_h", WORK_H)),
        available=generate_trace(spec["profile"], int(spec["seed"]), round(deadline_h / TICK_H)),
    )


def _split(prefix: str, first_seed: int, count: int) -> list[dict[str, Any]]:
    """`count` specs cycling through the profiles and the deadline x overhead grid.

    The grid cycles with period 6 and the profiles with period 8, so a split of 24
    holds each grid cell 4 times and every profile meets both deadlines and all three
    overheads; a split of 12 holds each cell twice.
    """
    specs = []
    for i in range(count):
        cell = i % (len(DEADLINES_H) * len(OVERHEADS_H))
        specs.append(
            {
                "id": f"{prefix}-{i:02d}",
                "seed": first_seed + i,
                "profile": PROFILE_NAMES[i % len(PROFILE_NAMES)],
                "deadline_h": DEADLINES_H[cell // len(OVERHEADS_H)],
                "overhead_h": OVERHEADS_H[cell % len(OVERHEADS_H)],
            }
        )
    return specs


SPLITS: dict[str, list[dict[str, Any]]] = {
    "train": _split("train", 1000, 24),
    "validation": _split("val", 2000, 12),
    "test": _split("test", 3000, 24),
}

SMOKE_SPEC: dict[str, Any] = {
    "id": "smoke",
    "seed": 7,
    "profile": "us-west-2a_v100_1",
    "deadline_h": 10.0,
    "overhead_h": 0.05,
    "work_h": 8.0,
}
