"""Import a policy file into this process and find its `decide` function.

For `baselines.py`, whose policies are the task's own code: it scores them with the
same simulator the evaluator replays a candidate's choices through. A candidate runs
in a process of its own (evaluate.py, remote.py).
"""

from __future__ import annotations

from pathlib import Path

from evoforge.evaluators.loading import load_program
from evoforge.evaluators.spot_scheduling.simulator import Policy


class MissingPolicy(Exception):
    """The program imports but defines no callable `decide`."""


def load_policy(program_path: str | Path) -> Policy:
    decide = getattr(load_program(program_path), "decide", None)
    if not callable(decide):
        raise MissingPolicy("the program defines no decide(state) function")
    return decide
