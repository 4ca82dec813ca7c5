"""The peer benchmark's own half: evoforge's driver, the equal-work checks, the ratios.

OpenEvolve and GEPA are benchmark-only and never installed for the tests, so their
drivers run only under `make bench-peers`; what is checked here is everything the
comparison's fairness rests on that lives in evoforge's environment.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from support.model_server import ScriptedModelServer

PEERS = Path(__file__).resolve().parents[1] / "benchmarks" / "peers"


def _load(name: str) -> Any:
    sys.path.insert(0, str(PEERS))
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _load("compare")
workload = _load("workload")


def test_evoforge_driver_does_the_shared_work_in_its_sandbox() -> None:
    with ScriptedModelServer(models=compare.responders(0.0)) as server:
        figures = compare.run_tool(
            "evoforge", Path(sys.executable), server, 8, 2, 0.05, stamps=True
        )
    assert figures["candidates"] == 8
    assert figures["evaluations"] == 9  # the seed, then one per candidate
    assert figures["model_calls"] >= 8
    # Every scripted edit applied: the best child carries one of the 8 new constants.
    best_possible = workload.score_text(workload.PROGRAM.replace("1.0", "1.0008"))
    assert workload.score_text(workload.PROGRAM) < figures["best"] <= best_possible
    assert figures["steady_rate"] > 0
    assert figures["tree_peak_rss_mb"] > 0 and figures["main_peak_rss_mb"] > 0
    assert "process" in figures["settings"]["sandbox"]
    assert figures["settings"]["evaluation_slots"] == 2


def test_a_run_that_did_less_work_is_refused() -> None:
    seed = workload.score_text(workload.PROGRAM)
    with pytest.raises(SystemExit, match="9 model calls for 10 candidates"):
        compare.check_equal_work("peer", 10, {"model_calls": 9, "best": seed + 0.01})
    with pytest.raises(SystemExit, match="never improved on the seed"):
        compare.check_equal_work("peer", 10, {"model_calls": 10, "best": seed})
    compare.check_equal_work("peer", 10, {"model_calls": 10, "best": seed + 0.01})


def test_each_tool_is_answered_with_an_edit_of_the_parent_it_shows() -> None:
    diff = workload.reply_maker("openevolve")(
        "# Previous Attempts\nX = 1.5\n# Current Program\n```python\nX = 1.0003\n```"
    )
    assert diff.startswith("<<<<<<< SEARCH\nX = 1.0003\n=======\nX = 1.0001\n")
    rewrite = workload.reply_maker("gepa")("```\nX = 1.0\n```")
    assert "X = 1.0001" in rewrite and rewrite.startswith("```python\n# EVOLVE-BLOCK-START")


def _run(tool: str, wall_s: float, candidates: int, rss: float) -> dict[str, Any]:
    return {
        "wall_s": wall_s,
        "candidates": candidates,
        "model_calls": candidates,
        "tree_peak_rss_mb": rss,
        "main_peak_rss_mb": rss / 2,
        "settings": {"tool": tool},
    }


def test_ratios_are_against_the_best_peer_of_each_table() -> None:
    results = {
        "sizes": [10, 100],
        "repeats": 1,
        "slots": 2,
        "latency": 2.0,
        "eval_time": 0.5,
        "pipeline_candidates": 4,
        "overhead": {
            "evoforge": {10: [_run("e", 0.2, 10, 300)], 100: [_run("e", 1.0, 100, 300)]},
            "openevolve": {10: [_run("o", 0.3, 10, 250)], 100: [_run("o", 4.0, 100, 250)]},
            "gepa": {10: [_run("g", 1.0, 10, 200)], 100: [_run("g", 5.0, 100, 200)]},
        },
        "pipeline": {
            "evoforge": {"steady_rate": 3.6, "evaluations": 5, "model_calls": 4, "wall_s": 2},
            "openevolve": {"steady_rate": 0.8, "evaluations": 5, "model_calls": 4, "wall_s": 6},
            "gepa": {"steady_rate": 0.9, "evaluations": 13, "model_calls": 4, "wall_s": 9},
        },
    }
    text = compare.report(results)
    overhead, rest = text.split("2. Pipeline")
    pipeline, memory = rest.split("3. Peak memory")
    assert "| 0.25 (vs openevolve)" in overhead  # 10 ms against 40 ms at 100
    assert "| 4.00 (vs gepa)" in pipeline  # 3.6 against the better peer's 0.9
    assert "| 1.50 (vs gepa)" in memory  # 300 MB against 200 MB
