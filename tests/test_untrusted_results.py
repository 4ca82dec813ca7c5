"""A candidate that writes the result itself cannot crash the run or pass text as a score.

The evaluator shares its process with the candidate, so an attacker who reads the
harness can find the result file's path and nonce on the stack and write any JSON
there. Whatever it writes, the run records an outcome and goes on: deep nesting is
cut, and a score that is text or not finite makes the evaluation `invalid`.
"""

from __future__ import annotations

import pytest
from cli_helpers import cli_json, run_cli, write_folder_task

from evoforge.store.database import open_database
from evoforge.store.repository import Repository
from evoforge.untrusted import (
    CUT,
    CUT_WIDE,
    MAX_ARTIFACTS_TEXT,
    MAX_ITEMS,
    MAX_NESTING,
    MAX_REASON,
    MAX_TEXT,
)

FORGER = '''
import json, os, sys

# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END


def forge(payload):
    """Find the harness's nonce and result path on the stack, write, and leave."""
    frame = sys._getframe()
    while frame is not None:
        found = frame.f_locals
        if "nonce" in found and "spec" in found:
            nonce = found["nonce"]  # a warm child reads it only when asked
            payload["nonce"] = nonce() if callable(nonce) else nonce
            with open(found["spec"]["result_path"], "w") as handle:
                handle.write(json.dumps(payload))
            os._exit(0)
        frame = frame.f_back
    raise SystemExit("no harness frame found")


PAYLOAD = None  # set below, per case
'''

EVALUATE = """
import runpy

def evaluate(program_path):
    return runpy.run_path(program_path)["X"]
"""


def _deep(levels: int) -> str:
    """Source that builds `nested`, dicts `levels` deep (json still reads it)."""
    return (
        f"nested = {{}}\ncursor = nested\nfor _ in range({levels}):\n"
        "    cursor['a'] = {}\n    cursor = cursor['a']\n"
    )


CASES = {
    "text_score": ('PAYLOAD = {"status": "ok", "score": "1e9", "metrics": {}}\n', "invalid"),
    "nan_score": ('PAYLOAD = {"status": "ok", "score": float("nan")}\n', "invalid"),
    "infinite_score": ('PAYLOAD = {"status": "ok", "score": float("inf")}\n', "invalid"),
    "no_score": ('PAYLOAD = {"status": "ok"}\n', "invalid"),
    "oversized": (
        'PAYLOAD = {"status": "ok", "score": 0.5, "feedback": "f" * 20_000_000,\n'
        '    "reason": "r" * 1_000_000,\n'
        '    "metrics": {f"m{i}": i for i in range(200_000)},\n'
        '    "instance_scores": {f"i{i}": 0.5 for i in range(100_000)},\n'
        '    "artifacts": {f"a{i}": "a" * 200_000 for i in range(50)}}\n',
        "ok",
    ),
    "deep_metrics": (
        _deep(900) + 'PAYLOAD = {"status": "ok", "score": 0.5, "metrics": {"deep": nested}}\n',
        "ok",
    ),
}


@pytest.mark.parametrize("sandbox", ["process", "docker"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_forged_result_is_recorded_safely_and_the_run_goes_on(
    case: str, sandbox: str, tmp_path, db_url: str, request: pytest.FixtureRequest
) -> None:
    """The host reads the result file the same way for both sandboxes."""
    setup, status = CASES[case]
    chosen = ["--sandbox", sandbox]
    if sandbox == "docker":
        from support.dockerd import run_config

        config = run_config(tmp_path, request.getfixturevalue("dockerd"))
        chosen += ["--config", str(config)]
    program = FORGER + setup + "forge(PAYLOAD)\n"
    folder = write_folder_task(
        tmp_path,
        case,
        {"task.toml": 'files = ["program.py"]\n', "program.py": program, "evaluate.py": EVALUATE},
    )
    summary = cli_json("run", str(folder), *chosen, "--max-evaluations", "3", "--db", db_url)
    assert summary["status"] == "finished"
    assert summary["evaluations"]["total"] == 3
    repo = Repository(open_database(db_url))
    seed = repo.candidate_detail(repo.lineage(summary["run_id"])["nodes"][0]["id"])
    evaluation = seed["evaluation"]
    assert evaluation["status"] == status, evaluation["reason"]
    assert evaluation["sandbox"].partition("(")[0] == sandbox
    if status == "invalid":
        assert evaluation["score"] is None
        assert "score" in evaluation["reason"]
        assert summary["best_score"] is None or summary["best_score"] < 1e9
    elif case == "oversized":  # kept within bounds, start and end of text kept
        assert len(evaluation["feedback"]) <= MAX_TEXT + 100
        assert evaluation["feedback"].startswith("fff") and evaluation["feedback"].endswith("f")
        assert len(evaluation["reason"]) <= MAX_REASON + 100
        assert len(evaluation["metrics"]) == MAX_ITEMS + 1  # and one marker
        assert evaluation["metrics"][CUT_WIDE] == CUT_WIDE
        assert len(evaluation["instance_scores"]) == MAX_ITEMS
        artifacts = evaluation["artifacts"]
        assert sum(len(text) for text in artifacts.values()) <= MAX_ARTIFACTS_TEXT + 100
        assert all(len(text) <= MAX_TEXT + 100 for text in artifacts.values())
        store = tmp_path / "store.db"
        assert store.stat().st_size < 64 << 20  # three such results, not 3 x 30 MB
    else:
        depth, node = 0, evaluation["metrics"]["deep"]
        while isinstance(node, dict):
            depth, node = depth + 1, node["a"]
        assert node == CUT and depth < MAX_NESTING
    # What the store holds reads back everywhere: show, export, resume.
    shown = run_cli("show", summary["run_id"], "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    resumed = run_cli("resume", summary["run_id"], "--db", db_url)  # its stored sandbox
    assert resumed.returncode == 0, resumed.stderr
