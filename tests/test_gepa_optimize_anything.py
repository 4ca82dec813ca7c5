"""A GEPA `optimize_anything` script runs on evoforge once its imports say evoforge.gepa.

The scripts are written as GEPA users write them (importing `gepa`), then only their
imports are changed, and they run as plain script files in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli_json
from sqlalchemy import create_engine, text
from support.gepa_folders import diff
from support.model_server import Script, ScriptedModelServer

from evoforge.gepa import optimize_anything
from evoforge.gepa.launch import EvaluatorNotImportable

SINGLE_TASK = """
import json
import re

import gepa.optimize_anything as oa
from gepa.optimize_anything import EngineConfig, GEPAConfig, ReflectionConfig, optimize_anything


def evaluate(candidate):
    limit = float(re.search(r"at most ([0-9.eE+-]+) words", candidate).group(1))
    oa.log(f"the limit was {limit}")
    return -abs(limit - 12.0), {"Feedback": "the limit should be near twelve"}


result = optimize_anything(
    seed_candidate="Answer in at most 40 words.",
    evaluator=evaluate,
    objective="Make the word limit twelve.",
    background="The prompt is read by a word counter.",
    config=GEPAConfig(
        engine=EngineConfig(max_metric_calls=BUDGET, seed=2),
        reflection=ReflectionConfig(reflection_lm=MODEL),
    ),
)
print(json.dumps({"best_candidate": result.best_candidate, "best_score": result.best_score,
                  "run_id": result.run_id, "evaluations": result.total_metric_calls}))
"""

GENERALIZATION = """
import json
import re

from gepa import optimize_anything
from gepa.optimize_anything import OptimizeAnythingConfig


def evaluate(candidate, example):
    limit = float(re.search(r"at most ([0-9.eE+-]+) words", candidate["system_prompt"]).group(1))
    bullets = float(re.search(r"([0-9.eE+-]+) bullet", candidate["style"]).group(1))
    miss = abs(limit - example["words"]) + abs(bullets - example["bullets"])
    return -miss, {"Input": example, "Feedback": f"missed by {miss}"}


result = optimize_anything(
    seed_candidate={"system_prompt": "Answer in at most 40 words.", "style": "Use 2 bullets."},
    evaluator=evaluate,
    dataset=[{"words": 10, "bullets": 3}, {"words": 14, "bullets": 3}],
    valset=[{"words": 12, "bullets": 4}],
    objective="Match the readers' preferred length.",
    config=OptimizeAnythingConfig(max_evals=8, seed=4, engine="gepa"),
)
print(json.dumps({"best_candidate": result.best_candidate, "best_score": result.best_score,
                  "run_id": result.run_id, "evaluations": result.total_metric_calls}))
"""

SLOW = """
import re
import time

from gepa.optimize_anything import EngineConfig, GEPAConfig, optimize_anything


def evaluate(candidate):
    time.sleep(0.3)
    return -abs(float(re.search(r"([0-9.eE+-]+)", candidate).group(1)) - 12.0)


optimize_anything(
    seed_candidate="Answer in at most 40 words.",
    evaluator=evaluate,
    config=GEPAConfig(engine=EngineConfig(max_metric_calls=12, seed=1)),
)
"""


def on_evoforge(gepa_script: str, **values: Any) -> str:
    """The script with only its imports changed (and test values filled in)."""
    script = textwrap.dedent(gepa_script)
    for old, new in (
        ("import gepa.optimize_anything", "import evoforge.gepa.optimize_anything"),
        ("from gepa.optimize_anything import", "from evoforge.gepa.optimize_anything import"),
        ("from gepa import", "from evoforge.gepa import"),
    ):
        script = script.replace(old, new)
    for name, value in values.items():
        script = script.replace(name, repr(value))
    assert "gepa." not in script.replace("evoforge.gepa.", "")
    return script


def run_script(folder: Path, script: str, db_url: str, **env: str) -> dict[str, Any]:
    path = folder / "optimize.py"
    path.write_text(script)
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "EVOFORGE_DB": db_url, **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_gepa_script_runs_with_only_its_imports_changed(tmp_path: Path, db_url: str) -> None:
    script = on_evoforge(SINGLE_TASK, BUDGET=6, MODEL=None)
    result = run_script(tmp_path, script, db_url)
    assert result["evaluations"] == 6
    assert isinstance(result["best_candidate"], str)
    assert result["best_candidate"].startswith("Answer in at most ")
    assert -28.0 < result["best_score"] <= 0
    shown = cli_json("show", result["run_id"], "--db", db_url)
    assert shown["status"] == "finished"
    assert shown["task"] == "optimize"
    assert shown["best_score"] == pytest.approx(result["best_score"])
    assert shown["seed_score"] == pytest.approx(-28.0)


def test_components_dataset_and_valset_give_the_best_on_validation(
    tmp_path: Path, db_url: str
) -> None:
    result = run_script(tmp_path, on_evoforge(GENERALIZATION), db_url)
    best = result["best_candidate"]
    assert sorted(best) == ["style", "system_prompt"]
    limit = float(best["system_prompt"].split("at most ")[1].split(" words")[0])
    bullets = float(best["style"].split("Use ")[1].split(" bullet")[0])
    assert result["best_score"] == pytest.approx(-(abs(limit - 12) + abs(bullets - 4)))
    shown = cli_json("show", result["run_id"], "--db", db_url)
    assert shown["evaluations"]["total"] == 8


def test_a_gepa_script_with_a_reflection_lm_calls_it_through_litellm(
    tmp_path: Path, db_url: str
) -> None:
    script = on_evoforge(SINGLE_TASK, BUDGET=2, MODEL="openai/test-model")
    reply = diff("candidate.txt", "Answer in at most 40 words.", "Answer in at most 12 words.")
    with ScriptedModelServer(default=Script(reply)) as server:
        result = run_script(
            tmp_path,
            script,
            db_url,
            OPENAI_BASE_URL=server.api_base,
            OPENAI_API_KEY="test-key",
        )
    assert result["best_candidate"] == "Answer in at most 12 words."
    assert result["best_score"] == pytest.approx(0.0)
    prompt = server.chat_requests()[0].prompt
    assert "Make the word limit twelve." in prompt
    assert "The prompt is read by a word counter." in prompt
    assert "the limit was 40.0" in prompt  # oa.log reached the model


def _evaluations(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from evaluations")).scalar_one()
    except Exception:
        return 0
    finally:
        engine.dispose()


def test_a_killed_optimize_anything_run_resumes_with_the_cli(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "slow.py"
    path.write_text(on_evoforge(SLOW))
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env={**os.environ, "EVOFORGE_DB": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while _evaluations(db_url) < 3 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= _evaluations(db_url) < 12
    run_id = cli_json("runs", "--db", db_url)[0]["run_id"]
    summary = cli_json("resume", run_id, "--db", db_url)
    assert summary["status"] == "finished"
    assert summary["evaluations"]["total"] == 12


def test_an_evaluator_the_sandbox_cannot_import_is_refused_with_the_fix(db_url: str) -> None:
    def inner(candidate: str) -> float:
        return 1.0

    with pytest.raises(EvaluatorNotImportable, match="lambda.*def evaluate"):
        optimize_anything(seed_candidate="x 1", evaluator=lambda c: 1.0, db=db_url)
    with pytest.raises(EvaluatorNotImportable, match="inside a function.*top level"):
        optimize_anything(seed_candidate="x 1", evaluator=inner, db=db_url)
    assert cli_json("runs", "--db", db_url) == []
