"""Tick-by-tick simulation of one job under a policy, with the rules a policy must obey.

The model follows "Can't Be Late" (NSDI '24) with a single region:

* Time advances in 10-minute ticks. In each tick the policy picks `spot`, `on_demand`
  or `idle`; spot can run only in ticks the trace marks available.
* Starting an instance (any change into `spot` or `on_demand`, including starting spot
  again after a preemption) costs `overhead_h` of the tick as lost work, still billed.
* A preemption is spot becoming unavailable while spot ran in the previous tick: the
  instance is gone, and the policy sees `current == "idle"` and `preempted == True`.
* Billing is per hour actually held: a full tick while running, and only the used part
  of the tick in which the job finishes. Idle costs nothing.
* The job must finish by its deadline; a policy that misses it is invalid, since the
  whole point of the problem is never being late.

Policy faults are raised as `PolicyFault` with a one-line reason that names the tick;
the evaluator prefixes the instance id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Relative, so the policy's process can load this module without the package (remote.py).
from .workload import TICK_H, Instance

ON_DEMAND_PRICE = 3.06  # $/h
SPOT_PRICE = 0.9731  # $/h
CHOICES = ("spot", "on_demand", "idle")
HISTORY_TICKS = 12  # availability of the last two hours is shown to the policy
EPS = 1e-9  # work below this counts as done (float sums of 1/6 h ticks)

Policy = Callable[[dict[str, Any]], Any]


class PolicyFault(Exception):
    """The policy broke a rule or missed the deadline; the message is the reason."""


@dataclass(frozen=True)
class Outcome:
    """What one job cost and how it got there (hours, dollars, counts)."""

    cost: float
    spot_h: float
    on_demand_h: float
    on_demand_while_spot_h: float
    idle_h: float
    overhead_h: float
    restarts: int
    preemptions: int
    finish_h: float
    availability: float
    score: float


def on_demand_cost(work_h: float) -> float:
    return work_h * ON_DEMAND_PRICE


def spot_only_cost(work_h: float) -> float:
    return work_h * SPOT_PRICE


def normalised_score(cost: float, work_h: float) -> float:
    """1 = the whole job on spot with no overhead, 0 = all on demand."""
    worst, ideal = on_demand_cost(work_h), spot_only_cost(work_h)
    return (worst - cost) / (worst - ideal)


def state(
    instance: Instance, tick: int, work_left: float, current: str, preempted: bool
) -> dict[str, Any]:
    """What the policy is shown at the start of a tick (a fresh dict each time)."""
    elapsed = tick * TICK_H
    return {
        "tick": tick,
        "tick_h": TICK_H,
        "elapsed_h": elapsed,
        "work_h": instance.work_h,
        "work_done_h": instance.work_h - work_left,
        "work_left_h": work_left,
        "deadline_h": instance.deadline_h,
        "time_left_h": instance.deadline_h - elapsed,
        "overhead_h": instance.overhead_h,
        "spot_available": instance.available[tick],
        "current": current,
        "preempted": preempted,
        "history": list(instance.available[max(0, tick - HISTORY_TICKS) : tick]),
        "spot_price": SPOT_PRICE,
        "on_demand_price": ON_DEMAND_PRICE,
    }


def _choice(decide: Policy, state: dict[str, Any]) -> str:
    tick = state["tick"]
    try:
        choice = decide(state)
    except Exception as exc:  # the policy's own bug: reported, not propagated
        raise PolicyFault(f"policy raised {type(exc).__name__}: {exc} (tick {tick})") from exc
    if not isinstance(choice, str) or choice not in CHOICES:
        raise PolicyFault(
            f"tick {tick}: decide returned {choice!r}; expected 'spot', 'on_demand' or 'idle'"
        )
    if choice == "spot" and not state["spot_available"]:
        raise PolicyFault(f"tick {tick}: chose spot while spot is unavailable")
    return choice


def simulate(instance: Instance, decide: Policy) -> Outcome:
    """Run the job to completion or to its deadline; raise `PolicyFault` on a broken rule."""
    work_left = instance.work_h
    current = "idle"
    pending_overhead = 0.0
    cost = spot_h = on_demand_h = od_while_spot_h = idle_h = overhead_paid = 0.0
    restarts = preemptions = 0
    tick = 0
    finish_h = 0.0
    while work_left > EPS:
        if tick >= instance.deadline_ticks:
            raise PolicyFault(
                f"missed the {instance.deadline_h:g} h deadline with {work_left:.2f} h of work left"
            )
        preempted = current == "spot" and not instance.available[tick]
        if preempted:
            current = "idle"
            preemptions += 1
        choice = _choice(decide, state(instance, tick, work_left, current, preempted))
        if choice == "idle":
            idle_h += TICK_H
            pending_overhead = 0.0
            finish_h = (tick + 1) * TICK_H
        else:
            if choice != current:
                restarts += 1
                pending_overhead = instance.overhead_h
            lost = min(pending_overhead, TICK_H)
            pending_overhead -= lost
            useful = TICK_H - lost
            held = TICK_H if useful < work_left else lost + work_left
            work_left = max(0.0, work_left - useful)
            overhead_paid += lost
            cost += held * (SPOT_PRICE if choice == "spot" else ON_DEMAND_PRICE)
            if choice == "spot":
                spot_h += held
            else:
                on_demand_h += held
                if instance.available[tick]:
                    od_while_spot_h += held
            finish_h = tick * TICK_H + held
        current = choice
        tick += 1
    window = instance.available[: max(tick, 1)]
    return Outcome(
        cost=cost,
        spot_h=spot_h,
        on_demand_h=on_demand_h,
        on_demand_while_spot_h=od_while_spot_h,
        idle_h=idle_h,
        overhead_h=overhead_paid,
        restarts=restarts,
        preemptions=preemptions,
        finish_h=finish_h,
        availability=sum(window) / len(window),
        score=normalised_score(cost, instance.work_h),
    )
