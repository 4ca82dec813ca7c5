"""ShinkaEvolve's published multi-region policy, as `decide_multi`.

The ADRS leaderboard publishes its average cost on the multi-region scenarios ($79.02,
score 67.74); rewritten here so a test can recompute a published figure of a policy
that moves between zones on its own beliefs. Spot whenever the current zone has it;
otherwise on demand when the work left per hour left passes a threshold or progress
falls behind a shrinking buffer; otherwise move to the zone with the best mix of an
availability estimate (an exponential average of what was seen there) and time since
it was last seen, and after several fruitless moves wait in place for a growing
number of seconds. It keeps its beliefs between ticks and starts afresh at tick 0.
Times are turned back into the harness's whole seconds.
"""

from typing import Any

ALPHA = 0.2
PROB_WEIGHT = 60.0
SWITCH_PENALTY = 20.0
START_BUFFER = 0.25
BASE_URGENCY = 0.95
MAX_BACKOFF = 32.0

_beliefs: dict[str, Any] = {}


def _seconds(hours: float) -> float:
    return round(hours * 3600, 6)


def _start(regions: list[str]) -> None:
    _beliefs.clear()
    _beliefs.update(
        prob={r: 0.5 for r in regions},
        seen={r: -300.0 for r in regions},
        dry=0,
        waiting=False,
        until=-1.0,
        backoff=2.0,
        threshold=max(2, len(regions)),
    )


def decide_multi(state: dict) -> tuple[str, str]:
    """Spot here if possible, on demand when pressed, else move or wait."""
    regions = state["regions"]
    if state["tick"] == 0 or not _beliefs:
        _start(regions)
    b = _beliefs
    here = state["region"]
    now = _seconds(state["elapsed_h"])
    has_spot = state["spot_available"]
    if b["waiting"]:
        if now < b["until"]:
            return here, "idle"
        b["waiting"] = False
        if has_spot:
            b["backoff"] = 2.0
        else:
            b["prob"][here] *= 0.8
            b["backoff"] = min(b["backoff"] * 2.0, MAX_BACKOFF)
    b["prob"][here] = b["prob"][here] * (1.0 - ALPHA) + (1.0 if has_spot else 0.0) * ALPHA
    b["seen"][here] = now
    if has_spot:
        b["dry"] = 0
        b["until"] = -1.0
        b["backoff"] = 2.0
        return here, "spot"
    work_s = _seconds(state["work_h"])
    left_s = _seconds(state["work_left_h"])
    deadline_s = _seconds(state["deadline_h"])
    time_left_s = deadline_s - now
    if time_left_s <= 1e-9:
        return here, "on_demand"
    relaxation = 0.01 * b["dry"]
    if b["backoff"] > 2.0:
        relaxation += 0.03
    if left_s / time_left_s > min(0.99, BASE_URGENCY + relaxation):
        return here, "on_demand"
    time_ratio = now / deadline_s
    buffer = max(0.0, START_BUFFER * (1.0 - time_ratio**3))
    if (work_s - left_s) / work_s < time_ratio - buffer:
        return here, "on_demand"
    damping = max(0.0, 1.0 - time_ratio**4)
    best, best_score = None, -float("inf")
    for region in regions:
        if region == here:
            staleness, penalty = 0.0, 0.0
        else:
            raw = 1000.0 if b["seen"][region] < 0 else now - b["seen"][region]
            staleness, penalty = raw * damping, SWITCH_PENALTY
        score = b["prob"][region] * PROB_WEIGHT + staleness - penalty
        if score > best_score:
            best, best_score = region, score
    if best is not None and best != here:
        b["dry"] += 1
        if b["dry"] >= b["threshold"]:
            b["waiting"] = True
            b["until"] = now + b["backoff"]
            b["dry"] = 0
            return here, "idle"
        return best, "idle"
    return here, "idle"
