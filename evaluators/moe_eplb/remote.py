"""The policy's side of a moe_eplb evaluation: runs in the candidate's process.

`evaluate.py` starts the program in a process of its own (`evoforge.candidate_process`)
with this file as the adapter. A window travels as plain lists; here it becomes the
float64 array `rebalance` expects, and the plan goes back as plain data with the type
and dtype it had, so the evaluator can reject a list or a float plan as it always did.
Nothing here is trusted: the evaluator rebuilds the plan and checks every entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def rebalance(
    program: Any,
    window: list[list[float]],
    num_replicas: int,
    num_groups: int,
    num_nodes: int,
    num_gpus: int,
) -> dict[str, Any]:
    """Call the program's `rebalance` on the window; its plan as plain data."""
    weight = np.array(window, dtype=np.float64)
    plan = program.rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus)
    if not isinstance(plan, np.ndarray):
        return {"type": type(plan).__name__, "dtype": None, "values": None}
    numeric = plan.dtype.kind in "iub"
    return {
        "type": "ndarray",
        "dtype": str(plan.dtype),
        "values": plan.tolist() if numeric else None,
    }
