"""The ADRS leaderboard's greedy seed ("greedy_safety_seed"), written as `decide`.

The public Can't Be Late evaluation starts evolution from this policy and publishes
its cost ($119.03 on the 1,080 scenarios). Spot whenever available, idle otherwise,
until the work left plus one restart no longer fits in the whole ticks left: then on
demand, keeping a running spot instance while the work plus two restarts still fits.
Like the harness it counts in whole 10-minute ticks and in seconds; the state's hours
are turned back into whole seconds (every time in that harness is a whole number of
seconds), so the tick counts match it exactly.
"""

import math

GAP_S = 600


def _seconds(hours: float) -> float:
    return round(hours * 3600, 6)


def decide(state: dict) -> str:
    """On demand when the deadline presses, else spot if available, else idle."""
    left_s = _seconds(state["work_left_h"])
    overhead_s = _seconds(state["overhead_h"])
    ticks_left = max(0, math.floor(_seconds(state["time_left_h"]) / GAP_S))
    if math.ceil((left_s + overhead_s) / GAP_S) >= ticks_left:
        return "on_demand"
    if math.ceil((left_s + 2 * overhead_s) / GAP_S) >= ticks_left:
        keep = state["current"] == "spot" and state["spot_available"]
        return "spot" if keep else "on_demand"
    return "spot" if state["spot_available"] else "idle"
