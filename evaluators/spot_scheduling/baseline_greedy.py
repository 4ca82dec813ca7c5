"""Greedy: spot whenever it is available, idle otherwise, until slack forces on-demand.

A "Can't Be Late" baseline. It spends the slack (time left minus work left) as early
as it can by waiting out outages, and once waiting any longer could make it late it
runs on demand to the end, even if spot comes back. Safe by construction: every choice
leaves enough slack to finish on demand after one more restart.
"""

MARGIN_H = 1e-6  # guards the slack comparisons against float rounding


def decide(state: dict) -> str:
    """Spot if safe and available; idle if one more idle tick is safe; else on demand."""
    slack = state["time_left_h"] - state["work_left_h"]
    overhead = state["overhead_h"]
    if state["current"] == "on_demand":
        return "on_demand"  # committed to the end
    if state["spot_available"]:
        # Keeping spot costs no slack; starting it costs one overhead. Either way one
        # overhead must remain to move to on demand after a preemption.
        need = overhead if state["current"] == "spot" else 2 * overhead
        return "spot" if slack >= need + MARGIN_H else "on_demand"
    if slack >= state["tick_h"] + overhead + MARGIN_H:
        return "idle"
    return "on_demand"
