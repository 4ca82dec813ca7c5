"""The public multi-region Can't Be Late harness's rules (ADRS `cant_be_late_multi`).

This reproduces what the leaderboard's harness (`sky_spot`: `Strategy.step`,
`MultiRegionStrategy`, `MultiTraceEnv`) does, so that costs read the same as the
published ones. A job runs over the time-aligned windows of 2 to 9 zones; ticks are
the traces' own 195 s. Tick by tick (seconds, as the harness counts):

* The previous tick's work is credited first, as in the single-region rules
  (public_simulator.py): the tick less any restart overhead still pending, capped at
  the work left. A job whose work is done stops; the policy is not asked again.
* The policy is asked for `(region, choice)`: the region to be in for this tick and
  what to run there. Its state shows every zone's availability in this tick, as the
  harness's environment does (`get_all_regions_spot_available`).
* The forced switch, unchanged from one region: with R the whole ticks left to the
  deadline and N = ceil((work left + overhead) / tick), when N ticks >= R the choice
  becomes on-demand, or spot when spot was requested in the previous tick and no
  overhead is pending; the region the policy named is kept.
* Spot in a region where it is unavailable in this tick runs as idle.
* Restart overhead is paid when the choice differs from what still runs (idle after
  a preemption, seen in the region the job was in). Moving a running instance to
  another region with the same choice costs nothing: the harness's region-switch
  overhead is 0 in the leaderboard's evaluation, and a switch alone starts nothing.
* Billing: every tick that runs is billed in full. On-demand costs $3.06/h. Spot is
  priced, for the whole job, at the first listed price of the window of the zone the
  job is in at the end (the harness prices the whole history with the current zone's
  constant price when it reads the cost).

A return value that is not a `(region name, choice)` pair naming one of the job's
zones and one of the three choices, or an exception, is a `PolicyFault`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Relative, so the policy's process can load this module without the package.
from .simulator import CHOICES, ON_DEMAND_PRICE, SPOT_PRICE, PolicyFault

WORK_DONE_S = 1e-8  # the harness's "task done" tolerance
OVERHEAD_GONE_S = 1e-3  # the harness drops a pending overhead below this
HISTORY_TICKS = 12

MultiPolicy = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class MultiJob:
    """One multi-region run: the zones' windows (True = spot available) and the job."""

    id: str
    scenario: str
    regions: tuple[str, ...]
    available: tuple[tuple[bool, ...], ...]  # [zone][tick]
    spot_prices: tuple[float, ...]  # $/h per zone: its window's first listed price
    gap_s: float
    work_h: float
    deadline_h: float
    overhead_h: float


@dataclass(frozen=True)
class MultiOutcome:
    """One run under the public rules (dollars, counts, hours)."""

    cost: float
    spot_ticks: int
    on_demand_ticks: int
    forced_ticks: int
    region_changes: int
    finish_h: float
    late_h: float


def multi_state(
    job: MultiJob, tick: int, region: int, work_left_s: float, current: str, preempted: bool
) -> dict[str, Any]:
    """What the policy is shown at the start of a tick (a fresh dict each time)."""
    gap_h = job.gap_s / 3600
    elapsed = tick * gap_h
    name = job.regions[region]
    work_left = work_left_s / 3600
    return {
        "tick": tick,
        "tick_h": gap_h,
        "elapsed_h": elapsed,
        "work_h": job.work_h,
        "work_done_h": job.work_h - work_left,
        "work_left_h": work_left,
        "deadline_h": job.deadline_h,
        "time_left_h": job.deadline_h - elapsed,
        "overhead_h": job.overhead_h,
        "region": name,
        "regions": list(job.regions),
        "spot_available": job.available[region][tick],
        "spot_available_by_region": {r: job.available[i][tick] for i, r in enumerate(job.regions)},
        "current": current,
        "preempted": preempted,
        "history": list(job.available[region][max(0, tick - HISTORY_TICKS) : tick]),
        "spot_price": job.spot_prices[region],
        "spot_prices": dict(zip(job.regions, job.spot_prices, strict=True)),
        "on_demand_price": ON_DEMAND_PRICE,
    }


def _decision(
    decide: MultiPolicy, shown: dict[str, Any], regions: tuple[str, ...]
) -> tuple[int, str]:
    tick = shown["tick"]
    try:
        answer = decide(shown)
    except Exception as exc:  # the policy's own bug: reported, not propagated
        raise PolicyFault(f"policy raised {type(exc).__name__}: {exc} (tick {tick})") from exc
    pair = answer if isinstance(answer, (tuple, list)) and len(answer) == 2 else (None, None)
    region, choice = pair
    if not (isinstance(region, str) and region in regions) or not (
        isinstance(choice, str) and choice in CHOICES
    ):
        raise PolicyFault(
            f"tick {tick}: decide_multi returned {answer!r}; expected (region, choice) with "
            f"region one of {list(regions)} and choice 'spot', 'on_demand' or 'idle'"
        )
    return regions.index(str.__str__(region)), str.__str__(choice)


def simulate_multi(job: MultiJob, decide: MultiPolicy) -> MultiOutcome:
    """Run the job to completion under the public multi-region harness's rules."""
    gap = job.gap_s
    work_s = job.work_h * 3600
    overhead_s = job.overhead_h * 3600
    deadline_s = job.deadline_h * 3600
    ticks = min(len(zone) for zone in job.available)
    done_s = 0.0
    pending_s = 0.0
    ran = "idle"  # what was requested in the previous tick (before a preemption is seen)
    region = 0
    billed: list[str] = []
    forced = changes = 0
    finish_s = 0.0
    tick = 0
    while True:
        if ran != "idle":
            useful = max(gap - pending_s, 0.0)
            lost = gap - useful
            pending_s -= lost
            if pending_s < OVERHEAD_GONE_S:
                pending_s = 0.0
            useful = min(useful, work_s - done_s)
            finish_s = (tick - 1) * gap + lost + useful
            done_s += useful
        if work_s - done_s <= WORK_DONE_S:
            break
        if tick >= ticks:
            raise PolicyFault(f"ran past the end of the {ticks}-tick windows")
        has_spot = job.available[region][tick]
        current = "idle" if ran == "spot" and not has_spot else ran
        shown = multi_state(job, tick, region, work_s - done_s, current, current != ran)
        chosen, choice = _decision(decide, shown, job.regions)
        changes += chosen != region
        time_left_s = math.floor((deadline_s - tick * gap) / gap) * gap
        needed_s = math.ceil((work_s - done_s + overhead_s) / gap) * gap
        if needed_s >= time_left_s:
            kept = "spot" if ran == "spot" and pending_s < OVERHEAD_GONE_S else "on_demand"
            forced += kept != choice
            choice = kept
        if choice == "spot" and not job.available[chosen][tick]:
            choice = "idle"
        if choice not in (current, "idle"):
            pending_s = overhead_s
        billed.append(choice)
        ran = choice
        region = chosen
        tick += 1
    prices = {"spot": job.spot_prices[region], "on_demand": ON_DEMAND_PRICE, "idle": 0.0}
    cost = 0.0
    for choice in billed:  # summed tick by tick, as the harness sums its history
        cost += prices[choice] * gap / 3600
    return MultiOutcome(
        cost=cost,
        spot_ticks=billed.count("spot"),
        on_demand_ticks=billed.count("on_demand"),
        forced_ticks=forced,
        region_changes=changes,
        finish_h=finish_s / 3600,
        late_h=max(0.0, finish_s - deadline_s) / 3600,
    )


def stay_in_first_region(decide: Callable[[dict[str, Any]], Any]) -> MultiPolicy:
    """A single-region `decide` runs in the scenario's first zone and never moves."""

    def decide_multi(state: dict[str, Any]) -> tuple[Any, Any]:
        return state["regions"][0], decide(state)

    return decide_multi


def normalised(cost: float, work_h: float) -> float:
    """0 at the all-on-demand cost, 1 at the all-spot cost at $0.9731/h (not clipped).

    The anchors are the single-region prices, although these windows list spot prices
    of about $1.5/h: the leaderboard anchors both problems the same way.
    """
    od_anchor, spot_anchor = ON_DEMAND_PRICE * work_h, SPOT_PRICE * work_h
    return (od_anchor - cost) / (od_anchor - spot_anchor)


def leaderboard_score(mean_cost: float, work_h: float) -> float:
    """The leaderboard's 0-100 score, to two decimals as it publishes it."""
    return round(max(0.0, min(1.0, normalised(mean_cost, work_h))) * 100, 2)
