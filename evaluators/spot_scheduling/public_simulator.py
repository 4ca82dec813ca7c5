"""The public Can't Be Late harness's rules (ADRS leaderboard, single region), for `decide`.

The task's own simulator (simulator.py) is stricter; this one reproduces what the
public harness (`sky_spot`, `Strategy.step` and `TraceEnv`) does, so that costs read
the same as the published ones. The rules, tick by tick (10-minute ticks, times kept
in seconds as the harness keeps them):

* The work of the previous tick is credited first: a tick that ran gives 600 s less
  any restart overhead still pending, capped at the work left. A job whose work is
  done stops; the policy is not asked again.
* The policy is asked with the same state the task's simulator shows
  (`simulator.state`), so one `decide` runs on both.
* The forced switch (the harness's "strong guarantee"): with R the whole ticks left
  to the deadline and N = ceil((work left + overhead) / 600 s), when N ticks >= R
  the policy's choice is replaced by on-demand, except that spot is kept when spot
  ran in the previous tick. The harness looks at what was *requested* in the
  previous tick, not at whether it was just preempted: a preemption at that moment
  keeps "spot", which then runs as idle (next rule), and the job can finish up to a
  tick after its deadline. The harness never checks the deadline; this module
  reports lateness and leaves judging it to the caller.
* Spot chosen while spot is unavailable runs as idle (no fault, no cost).
* A change into spot or on-demand from what is running (idle after a preemption)
  starts an instance and costs the restart overhead, as in the task.
* Every tick that runs is billed in full at $3.06/h or $0.9731/h, the last one
  included, even when the work ends early in it.

A return value that is not one of the three choices, or an exception, is a
`PolicyFault` as in the task (the harness would crash on both).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Relative, so the policy's process can load this module without the package (remote.py).
from .simulator import CHOICES, ON_DEMAND_PRICE, SPOT_PRICE, Policy, PolicyFault, state
from .workload import Instance

GAP_S = 600.0
WORK_DONE_S = 1e-8  # the harness's "task done" tolerance
OVERHEAD_GONE_S = 1e-3  # the harness drops a pending overhead below this


@dataclass(frozen=True)
class PublicOutcome:
    """One scenario under the public rules (dollars, hours, counts)."""

    cost: float
    spot_ticks: int
    on_demand_ticks: int
    forced_ticks: int  # ticks whose choice the forced switch replaced
    finish_h: float
    late_h: float  # hours past the deadline at completion (0 when on time)


def _choice(decide: Policy, shown: dict[str, Any]) -> str:
    tick = shown["tick"]
    try:
        choice = decide(shown)
    except Exception as exc:  # the policy's own bug: reported, not propagated
        raise PolicyFault(f"policy raised {type(exc).__name__}: {exc} (tick {tick})") from exc
    if not isinstance(choice, str) or choice not in CHOICES:
        raise PolicyFault(
            f"tick {tick}: decide returned {choice!r}; expected 'spot', 'on_demand' or 'idle'"
        )
    return str.__str__(choice)


def simulate_public(instance: Instance, decide: Policy) -> PublicOutcome:
    """Run the job to completion under the public harness's rules."""
    work_s = instance.work_h * 3600
    overhead_s = instance.overhead_h * 3600
    deadline_s = instance.deadline_h * 3600
    done_s = 0.0
    pending_s = 0.0  # restart overhead still to be paid by the running instance
    ran = "idle"  # what the previous tick ran (before a preemption is seen)
    billed = {"spot": 0, "on_demand": 0, "idle": 0}
    forced = 0
    finish_s = 0.0
    tick = 0
    while True:
        if ran != "idle":
            lost = min(pending_s, GAP_S)
            useful = min(GAP_S - lost, work_s - done_s)
            pending_s -= lost
            if pending_s < OVERHEAD_GONE_S:
                pending_s = 0.0
            done_s += useful
            finish_s = (tick - 1) * GAP_S + lost + useful
        if work_s - done_s <= WORK_DONE_S:
            break
        if tick >= len(instance.available):
            raise PolicyFault(f"ran past the end of the {len(instance.available)}-tick trace")
        spot = instance.available[tick]
        current = "idle" if ran == "spot" and not spot else ran
        shown = state(instance, tick, (work_s - done_s) / 3600, current, current != ran)
        choice = _choice(decide, shown)
        time_left_s = math.floor((deadline_s - tick * GAP_S) / GAP_S) * GAP_S
        needed_s = math.ceil((work_s - done_s + overhead_s) / GAP_S) * GAP_S
        if needed_s >= time_left_s:
            kept = "spot" if ran == "spot" and pending_s < OVERHEAD_GONE_S else "on_demand"
            forced += kept != choice
            choice = kept
        if choice == "spot" and not spot:
            choice = "idle"
        if choice not in (current, "idle"):
            pending_s = overhead_s
        billed[choice] += 1
        ran = choice
        tick += 1
    hours = GAP_S / 3600
    return PublicOutcome(
        cost=billed["spot"] * hours * SPOT_PRICE + billed["on_demand"] * hours * ON_DEMAND_PRICE,
        spot_ticks=billed["spot"],
        on_demand_ticks=billed["on_demand"],
        forced_ticks=forced,
        finish_h=finish_s / 3600,
        late_h=max(0.0, finish_s - deadline_s) / 3600,
    )
