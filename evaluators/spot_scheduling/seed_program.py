"""Decide, every 10-minute tick, whether a 48 h job runs on spot, on demand or waits.

`decide(state)` returns "spot", "on_demand" or "idle". The job must finish by its
deadline (a late job makes the program invalid); within that, cheaper is better.
Spot costs $0.9731/h, on demand $3.06/h, and every start of an instance (including
spot after a preemption) loses `overhead_h` of work that is still billed.

The policy is Uniform Progress ("Can't Be Late", NSDI '24) with its choices turned
into constants: how far behind the progress line the job may fall before paying for
on demand, where the line ends, and when to leave on demand for spot again. The
safety rule (run on demand once the slack could not absorb one more restart) is what
keeps the job on time: weaken it and the policy can be late, which is invalid.
"""

FLOAT_GUARD_H = 1e-6  # keeps slack comparisons safe from float rounding; not a knob

# EVOLVE-BLOCK-START
LINE_END_FRACTION = 0.95  # the progress line reaches all the work at this share of the deadline
LAG_ALLOWANCE_H = 0.5  # hours of work the job may lag behind the line before going on demand
RETURN_SLACK_H = 0.5  # extra slack (h) needed to leave on demand for spot
MIN_SPOT_STREAK = 2  # ticks spot must have been available before leaving on demand
OD_HYSTERESIS_H = 0.5  # once on demand in an outage, stay until this far ahead of the line
SAFETY_MARGIN_H = 0.25  # slack (h) kept on top of the restart overhead the safety rule needs


def _streak(state: dict) -> int:
    """How many ticks in a row spot has been available, this one included."""
    if not state["spot_available"]:
        return 0
    count = 1
    for was_available in reversed(state["history"]):
        if not was_available:
            break
        count += 1
    return count


def decide(state: dict) -> str:
    """Spot when available and safe; in outages, wait unless behind the progress line."""
    slack = state["time_left_h"] - state["work_left_h"]
    overhead = state["overhead_h"]
    tick = state["tick_h"]
    current = state["current"]
    reserve = overhead + abs(SAFETY_MARGIN_H) + FLOAT_GUARD_H
    if state["spot_available"]:
        if current == "spot":
            return "spot" if slack >= reserve else "on_demand"
        wants_spot = current != "on_demand" or (
            slack >= reserve + overhead + RETURN_SLACK_H and _streak(state) >= MIN_SPOT_STREAK
        )
        if wants_spot and slack >= reserve + overhead:
            return "spot"
        return "on_demand"
    if slack < reserve + tick:
        return "on_demand"  # one more idle tick could make the job late
    end_h = state["deadline_h"] * max(0.05, LINE_END_FRACTION)
    line = state["work_h"] * min(1.0, (state["elapsed_h"] + tick) / end_h)
    ahead = state["work_done_h"] + LAG_ALLOWANCE_H - line
    if ahead >= (OD_HYSTERESIS_H if current == "on_demand" else 0.0):
        return "idle"
    return "on_demand"


# EVOLVE-BLOCK-END
