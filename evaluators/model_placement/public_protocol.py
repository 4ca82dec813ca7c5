"""The public Prism cases (ADRS leaderboard `problems/prism`) as this task's instances.

The public evaluator draws 50 cases from numpy's seed 42: 5..9 GPUs of 80 GB and twice
as many models with integer sizes (10..29 GB), request rates (1..9 req/s) and SLOs
(5..9). evoforge reads them from the user's copy (`adrs_public/prism_cases.json`) and
hands them to the evaluator whole, because the sandbox cannot see that folder. Each
model is renamed into the task's shape (`rate`, `slo_s`) so a policy written for the
task's own splits runs unchanged; the model order is kept, since the public 0-point
reference (round robin) depends on it.
"""

from __future__ import annotations

import json
from typing import Any

from evoforge.public_data import public_file

CASES_FILE = "adrs_public/prism_cases.json"


def public_instances() -> list[dict[str, Any]]:
    """The 50 public cases, in the public order, as plain instances (`prism-00` ..)."""
    cases = json.loads(public_file(CASES_FILE).read_text("utf-8"))["cases"]
    return [
        {
            "protocol": "public",
            "id": f"prism-{index:02d}",
            "num_gpus": int(case["num_gpus"]),
            "gpu_memory_gb": float(case["gpu_memory_gb"]),
            "models": [
                {
                    "name": model["name"],
                    "size_gb": float(model["size_gb"]),
                    "rate": float(model["req_rate"]),
                    "slo_s": float(model["slo"]),
                }
                for model in case["models"]
            ],
        }
        for index, case in enumerate(cases)
    ]
