"""GEPA's `optimize_anything` on the shared work, in the peers' environment.

Defaults kept, except what makes the work equal: the reflection model (at the
loopback server, through litellm), the number of candidate proposals
(`engine.max_candidate_proposals`) and `engine.max_workers` (its evaluation
threads, so its evaluation slots). The candidate is the program's text, scored
in-process by the shared formula (single-task search: no dataset).
"""

from __future__ import annotations

import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import litellm  # noqa: E402,F401  (gepa.lm imports it on first call: before the clock here)
from driver import load_spec, read_stamps, stamp, steady_rate, timed  # noqa: E402
from gepa.optimize_anything import (  # noqa: E402
    EngineConfig,
    GEPAConfig,
    ReflectionConfig,
    optimize_anything,
)
from workload import PROGRAM, score_text  # noqa: E402

MODEL = "openai/gepa-bench"


def main() -> None:
    spec = load_spec()
    calls = 0
    lock = threading.Lock()

    def evaluate(candidate: str) -> float:
        nonlocal calls
        value = score_text(candidate)
        if spec["eval_time"]:
            time.sleep(spec["eval_time"])
        with lock:
            calls += 1
        stamp(spec.get("stamps"))
        return value

    engine = EngineConfig(
        max_candidate_proposals=spec["candidates"],
        max_workers=spec["slots"],
        run_dir=str(Path(spec["workdir"]) / "gepa_run"),
    )
    reflection = ReflectionConfig(
        reflection_lm=MODEL,
        reflection_lm_kwargs={"api_base": spec["api_base"], "api_key": "unused"},
    )
    config = GEPAConfig(engine=engine, reflection=reflection)
    settings = {
        "gepa": version("gepa"),
        "litellm": version("litellm"),
        "engine.max_candidate_proposals": spec["candidates"],
        "engine.max_workers": spec["slots"],
        "engine.parallel": engine.parallel,
        "engine.frontier_type": engine.frontier_type,
        "engine.cache_evaluation": engine.cache_evaluation,
        "reflection.reflection_lm": MODEL,
        "reflection.reflection_minibatch_size": "default (1 in single-task mode)",
        "sandbox": "none (the evaluator runs in its process)",
    }

    def run() -> dict[str, Any]:
        result = optimize_anything(seed_candidate=PROGRAM, evaluator=evaluate, config=config)
        stamps = read_stamps(spec.get("stamps"))
        best = result.val_aggregate_scores[result.best_idx]
        return {
            "tool": "gepa",
            "candidates": spec["candidates"],
            "evaluations": calls,
            "steady_rate": steady_rate(stamps),
            "best": best,
            "settings": settings,
        }

    timed(run)


if __name__ == "__main__":
    main()
