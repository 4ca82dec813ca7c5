"""Uniform Progress, the policy proposed in "Can't Be Late" (NSDI '24), single region.

Progress should never fall below the straight line from 0 at the start to all the
work at the deadline. Spot runs whenever it is available; in an outage the job waits
only while it stays on or above that line, and runs on demand when it would fall
behind. It returns to spot as soon as spot is back. The safety rule overrides all of
this: once the slack (time left minus work left) could no longer absorb a restart
after a preemption, it runs on demand to the end.
"""

MARGIN_H = 1e-6  # guards the slack comparisons against float rounding


def decide(state: dict) -> str:
    """Spot when available and safe; on demand when behind the line or out of slack."""
    slack = state["time_left_h"] - state["work_left_h"]
    overhead = state["overhead_h"]
    current = state["current"]
    if state["spot_available"]:
        need = overhead if current == "spot" else 2 * overhead
        return "spot" if slack >= need + MARGIN_H else "on_demand"
    # Idling spends a tick of slack; one overhead must remain for the move to on demand.
    idle_ok = slack >= state["tick_h"] + overhead + MARGIN_H
    # The line says how much work should be done at the end of this tick.
    line = state["work_h"] * (state["elapsed_h"] + state["tick_h"]) / state["deadline_h"]
    if idle_ok and state["work_done_h"] >= line - MARGIN_H:
        return "idle"
    return "on_demand"
