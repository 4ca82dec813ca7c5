"""Whether a seed's failed evaluation is one no proposal can fix.

Every child runs in the same place as the seed, so a missing module, an evaluator
that cannot even be imported, or a deadline the seed cannot meet will fail every
child the same way: a run that goes on spends its whole budget (and its model money)
on one error. Such a run stops after the seed, with the reason and the fix. A seed
that fails in its own code (an exception inside it, a crash, an invalid answer) is
left to the search: a proposal may well fix that.
"""

from __future__ import annotations

import re

from evoforge.proposals import CandidateView
from evoforge.result import EVALUATOR_NOT_LOADED
from evoforge.task import Task

_MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): (?:No module named )?(.*)")


class SeedUnusable(RuntimeError):
    """The seed's evaluation failed in a way every child would repeat; the message is
    one line with the reason and the fix."""


KEEP_GOING = "or pass --keep-going to search anyway"


def unusable_seed(seed: CandidateView, task: Task) -> str | None:
    """The one-line reason and fix when no proposal can repair the seed's evaluation."""
    reason = seed.reason.strip() or seed.status
    if seed.status == "timeout":
        return (
            f"the seed's evaluation timed out ({reason}); every child would too: raise "
            f"--eval-timeout (the task allows {task.resources.timeout_s:g} s) or make the "
            f"evaluation faster, then start the run again, {KEEP_GOING}"
        )
    if seed.status != "failed":
        return None
    missing = _MISSING_MODULE.search(reason)
    if missing:
        return (
            f"the seed's evaluation failed: {reason}; install what it needs where the "
            f"evaluations run (the Python evoforge runs with, or the sandbox image), then "
            f"start the run again, {KEEP_GOING}"
        )
    if reason.startswith(EVALUATOR_NOT_LOADED):
        return (
            f"the evaluator failed before any candidate ran: {reason}; fix the evaluator, "
            f"then start the run again, {KEEP_GOING}"
        )
    return None
