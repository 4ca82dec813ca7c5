"""The policy's side of a public multi-region evaluation: runs in the candidate's process.

As remote.py does for one region: the job is simulated here with the public
multi-region rules, and the policy's `(region, choice)` answers go back as one list;
the evaluator replays them through its own copy of the simulator, which rebuilds
every state, applies every rule and prices every tick. Nothing computed here is
trusted. A program without `decide_multi` has its `decide` run in the first zone.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .public_multi_simulator import MultiJob, simulate_multi, stay_in_first_region
from .simulator import PolicyFault

SHOWN_CHARS = 200


def job_of(plain: dict[str, Any]) -> MultiJob:
    """The job from the plain data the evaluator sends (lists back into tuples)."""
    return MultiJob(
        id=str(plain["id"]),
        scenario=str(plain["scenario"]),
        regions=tuple(plain["regions"]),
        available=tuple(tuple(zone) for zone in plain["available"]),
        spot_prices=tuple(plain["spot_prices"]),
        gap_s=float(plain["gap_s"]),
        work_h=float(plain["work_h"]),
        deadline_h=float(plain["deadline_h"]),
        overhead_h=float(plain["overhead_h"]),
    )


def run(program: Any, plain: dict[str, Any]) -> dict[str, Any]:
    """Simulate one job; the policy's answers, and its exception if it raised.

    An answer that is a pair of strings goes back as `[region, choice]`; anything else
    as `{"shown": repr}`, so the evaluator's reason quotes it.
    """
    decide_multi = getattr(program, "decide_multi", None)
    if not callable(decide_multi):
        decide_multi = stay_in_first_region(program.decide)
    answers: list[Any] = []
    raised: list[str] | None = None

    def recording(state: dict[str, Any]) -> Any:
        nonlocal raised
        try:
            answer = decide_multi(state)
        except Exception as error:
            raised = [type(error).__name__, _text(error)]
            raise
        if (
            isinstance(answer, (tuple, list))
            and len(answer) == 2
            and all(isinstance(part, str) for part in answer)
        ):
            answers.append([str.__str__(answer[0]), str.__str__(answer[1])])
        else:
            answers.append({"shown": _text(answer, repr)})
        return answer

    with contextlib.suppress(PolicyFault):
        simulate_multi(job_of(plain), recording)
    return {"choices": answers, "raised": raised}


def _text(value: Any, show: Any = str) -> str:
    try:
        return str(show(value))[:SHOWN_CHARS]
    except Exception:
        return "<unprintable>"
