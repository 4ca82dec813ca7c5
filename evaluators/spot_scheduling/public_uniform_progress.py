"""The public Uniform Progress (`rc_cr_threshold` in the Can't Be Late simulator), as `decide`.

This is the policy the Can't Be Late paper proposes, as its authors' simulator codes
it; the task's own `baseline_uniform_progress.py` follows the paper's description and
differs in its safety rules. Rules, with c0 the job, c the work left, t the time
elapsed, r0 the deadline, d the restart overhead:

* Ahead of the line from 0 to the whole job at the deadline (c0 - c >= t c0 / r0):
  spot when available, else idle. Behind it: spot when available, else on demand.
* Once on demand, stay there while spot is unavailable or while returning would put
  the job behind the line shifted by two restarts ((t + 2d) c0 / r0 >= c0 - c).
* Deadline rules in whole 10-minute ticks: when the work plus two restarts fills the
  ticks left and no spot instance runs, on demand; when the work plus one restart
  fills them, keep a running spot instance, else on demand.

Times are turned back into whole seconds, as that simulator keeps them, so its
threshold comparisons come out the same.
"""

import math

GAP_S = 600


def _seconds(hours: float) -> float:
    return round(hours * 3600, 6)


def decide(state: dict) -> str:
    """Uniform Progress with the keep-on-demand rule and the deadline rules."""
    job_s = _seconds(state["work_h"])
    left_s = _seconds(state["work_left_h"])
    elapsed_s = state["tick"] * GAP_S
    deadline_s = _seconds(state["deadline_h"])
    overhead_s = _seconds(state["overhead_h"])
    spot = state["spot_available"]
    current = state["current"]
    done_s = job_s - left_s
    behind = done_s - elapsed_s * job_s / deadline_s < 0
    choice = "spot" if spot else ("on_demand" if behind else "idle")
    if current == "on_demand":
        return_line = (elapsed_s + 2 * overhead_s) * job_s / deadline_s - done_s
        if not spot or return_line >= 0:
            choice = "on_demand"
    ticks_left = math.floor((deadline_s - elapsed_s) / GAP_S)
    if math.ceil((left_s + 2 * overhead_s) / GAP_S) >= ticks_left and current != "spot":
        choice = "on_demand"
    if math.ceil((left_s + overhead_s) / GAP_S) >= ticks_left:
        choice = "spot" if current == "spot" else "on_demand"
    return choice
