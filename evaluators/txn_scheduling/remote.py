"""The policy's side of a txn_scheduling evaluation: runs in the candidate's process.

`evaluate.py` starts the program in a process of its own (`evoforge.candidate_process`)
with this file as the adapter. The oracle lives here, next to the policy, because the
policy may probe it tens of thousands of times per instance, and a pipe round trip per
probe would cost more than the 2 s wall-clock cap. Its answers reveal nothing the
transactions do not (a policy may simulate orders itself). The evaluator checks and
simulates the returned order itself; the step count it charges is the one reported
from here (see the README's Limits).
"""

from __future__ import annotations

from typing import Any

from .oracle import Oracle
from .public_simulator import PublicScheduleState, public_footprints
from .simulator import footprints


def schedule(
    program: Any, txns: list[dict[str, Any]], budget: int, public: bool = False
) -> dict[str, Any]:
    """Run `program.schedule(txns, oracle)`; the order, its type and the steps it used.

    `public`: the oracle simulates the public benchmark's per-operation model.
    """
    if public:
        oracle = Oracle(public_footprints(txns), budget, PublicScheduleState)
    else:
        oracle = Oracle(footprints(txns), budget)
    returned = program.schedule(txns, oracle)
    listed = isinstance(returned, (list, tuple))
    return {
        "type": type(returned).__name__,
        "order": list(returned) if listed else None,
        "used": oracle.used,
    }
