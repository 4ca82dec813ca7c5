"""The policy's side of a spot_scheduling evaluation: runs in the candidate's process.

`evaluate.py` starts the program in a process of its own (`evoforge.candidate_process`)
with this file as the adapter. A call per tick would cost a pipe round trip each, about
8,300 of them per evaluation, so instead the job is simulated here, with the task's own
simulator, and the policy's choices go back in one list per job. The evaluator then
replays that list through its own copy of the simulator: it rebuilds every state the
policy saw, applies every rule and prices every tick itself. Nothing computed here is
trusted; a program that patches this module or the simulator in its own process only
changes what its own policy is shown.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .public_simulator import simulate_public
from .simulator import PolicyFault, simulate
from .workload import Instance

JOB_FIELDS = ("id", "profile", "deadline_h", "overhead_h", "work_h")

SHOWN_CHARS = 200


def run(program: Any, job: dict[str, Any]) -> dict[str, Any]:
    """Simulate one job under `program.decide`; its choices, and its exception if it raised.

    `job` is the instance as plain data; `"protocol": "public"` runs it under the public
    harness's rules (public_simulator.py), which ask the policy the same way. A choice
    that is not a string goes back as `{"shown": repr}`, so the evaluator's reason
    quotes it as before; an exception goes back as `[type name, message]` and ends the
    list.
    """
    instance = Instance(**{key: job[key] for key in JOB_FIELDS}, available=tuple(job["available"]))
    simulate_job = simulate_public if job.get("protocol") == "public" else simulate
    decide = program.decide
    choices: list[Any] = []
    raised: list[str] | None = None

    def recording(state: dict[str, Any]) -> Any:
        nonlocal raised
        try:
            choice = decide(state)
        except Exception as error:
            raised = [type(error).__name__, _text(error)]
            raise
        if isinstance(choice, str):
            choices.append(str.__str__(choice))  # a plain str, whatever the subclass
        else:
            choices.append({"shown": _text(choice, repr)})
        return choice

    # A broken rule ends the job here; the evaluator finds it again when it replays.
    with contextlib.suppress(PolicyFault):
        simulate_job(instance, recording)
    return {"choices": choices, "raised": raised}


def _text(value: Any, show: Any = str) -> str:
    try:
        return str(show(value))[:SHOWN_CHARS]
    except Exception:
        return "<unprintable>"
