"""Import a policy file and find its `decide` function.

Shared by the evaluator and by `baselines.py`, which must score the shipped baselines
exactly as the evaluator scores a candidate.
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
