"""Folders laid out for other tools run unchanged: SkyDiscover/ADRS and ShinkaEvolve.

The fixture folders are shaped like the real ones (skydiscover-ai/skydiscover
`benchmarks/ADRS/*`, SakanaAI/ShinkaEvolve `examples/circle_packing`): sibling
modules beside the evaluator, a config.yaml or run_evo.py, the files evoforge
ignores, and seeds with runs of blank lines, tabs and CRLF line ends. Each layout
runs end to end through `evoforge run FOLDER` with the offline proposer, and once
through litellm against the loopback model server.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli
from support.llm_runs import run_llm
from support.model_server import Reply, ScriptedModelServer, SeenRequest

from evoforge.folder_tasks import load_task_folder
from evoforge.proposals import CandidateView
from evoforge.store.database import open_database
from evoforge.store.repository import Repository


def write_layout(root: Path, name: str, files: dict[str, str]) -> Path:
    """Write dedented files; a name ending in `!crlf` is written with CRLF line ends."""
    folder = root / name
    for file, text in files.items():
        crlf = file.endswith("!crlf")
        path = folder / file.removesuffix("!crlf")
        path.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).lstrip("\n")
        path.write_bytes(body.replace("\n", "\r\n" if crlf else "\n").encode())
    return folder


def stored(db_url: str, run_id: str) -> list[CandidateView]:
    return Repository(open_database(db_url)).evaluated_candidates(run_id)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- SkyDiscover / ADRS ---------------------------------------------------------------

# Tabs indent the body and blank-line runs separate the parts, as in ADRS seeds.
SKY_SEED = (
    "import random\n"
    "\n"
    "from txn_simulator import Workload\n"
    "from workloads import WORKLOAD_1\n"
    "\n\n\n"
    "# EVOLVE-BLOCK-START\n"
    "\n"
    "SPREAD = 2.0\n"
    "\n\n"
    "def get_best_schedule(workload, num_seqs):\n"
    '\t"""Order the transactions; SPREAD shapes how the greedy pass spaces them."""\n'
    "\tschedule = list(range(workload.num_txns))\n"
    "\trandom.Random(num_seqs).shuffle(schedule)\n"
    "\treturn workload.makespan(SPREAD), schedule\n"
    "\n"
    "# EVOLVE-BLOCK-END\n"
    "\n\n"
    "def get_random_costs():\n"
    "\treturn get_best_schedule(Workload(WORKLOAD_1), 4)\n"
)

SKY_SIMULATOR = """
class Workload:
    def __init__(self, spec):
        self.num_txns = len(spec)

    def makespan(self, spread):
        return 100.0 + 10.0 * abs(spread - 5.0)
"""

SKY_WORKLOADS = """
WORKLOAD_1 = {"txn0": "w-17 r-5", "txn1": "r-5 w-3", "txn2": "w-3 r-4"}
"""

SKY_EVALUATOR = """
import importlib.util
import os
import sys

from txn_simulator import Workload
from workloads import WORKLOAD_1


def _load(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program


def evaluate_stage1(program_path):
    makespan, schedule = _load(program_path).get_random_costs()
    valid = sorted(schedule) == list(range(Workload(WORKLOAD_1).num_txns))
    return {"combined_score": 1.0 if valid else 0.0}


def evaluate_stage2(program_path):
    program = _load(program_path)
    makespan, schedule = program.get_random_costs()
    # As llm_sql's evaluator does: the candidate imports by name from its own folder.
    import initial_program

    same = initial_program.SPREAD == program.SPREAD
    return {"combined_score": 1000.0 / makespan, "same_module": 1.0 if same else 0.0}


def evaluate(program_path):
    return evaluate_stage2(program_path)


if __name__ == "__main__":
    from wrapper import run

    run(evaluate)
"""

SKY_CONFIG = """
# Transaction Scheduling - Minimize makespan for database workloads
# Usage: skydiscover-run initial_program.py evaluator.py -c config.yaml -s <strategy>
language: python
diff_based_generation: true
max_iterations: 100
checkpoint_interval: 5

llm:
  api_base: https://api.openai.com/v1
  models:
    - name: "gpt-5"
      weight: 1.0

prompt:
  system_message: |-
    You are an expert in database transaction optimization.
    Only change code within EVOLVE-BLOCK-START and EVOLVE-BLOCK-END.
    Find the SPREAD that gives the lowest makespan.

evaluator:
  timeout: 60
  cascade_evaluation: true
  cascade_thresholds: [0.5, 0.75]
"""

# What SkyDiscover ships for its container route; the Python route ignores them.
SKY_IGNORED = {
    "evaluator/evaluate.sh": '#!/usr/bin/env bash\npython /benchmark/evaluator.py "$1"\n',
    "evaluator/Dockerfile": "FROM python:3.12-slim\nWORKDIR /benchmark\nCOPY . .\n",
    "evaluator/wrapper.py": "def run(evaluate_fn):\n    raise SystemExit('container only')\n",
    "evaluator/requirements.txt": "numpy\n",
}


def write_skydiscover(root: Path, seed: str = SKY_SEED) -> Path:
    return write_layout(
        root,
        "txn_scheduling",
        {
            "initial_program.py!crlf": seed,
            "config.yaml": SKY_CONFIG,
            "evaluator/evaluator.py": SKY_EVALUATOR,
            "evaluator/txn_simulator.py": SKY_SIMULATOR,
            "evaluator/workloads.py": SKY_WORKLOADS,
            **SKY_IGNORED,
        },
    )


def test_skydiscover_folder_runs_with_the_cli_and_its_evaluator_modules(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_skydiscover(tmp_path)
    task = load_task_folder(folder)
    assert [(s.name, s.threshold) for s in task.stages] == [("evaluate_stage1", 0.5)]
    assert task.evaluate.endswith("evaluator/evaluator.py:evaluate_stage2")
    assert task.objective.startswith("You are an expert in database transaction")
    assert task.resources.timeout_s == 60

    summary = cli_json("run", str(folder), "--max-evaluations", "10", "--seed", "3", "--db", db_url)
    assert summary["task"] == "txn_scheduling"
    assert summary["evaluations"]["ok"] == 10
    assert summary["seed_score"] == pytest.approx(1000 / 130)
    assert summary["best_score"] > summary["seed_score"]
    evaluations = stored(db_url, summary["run_id"])
    # The evaluator imported the candidate by name from the candidate's own folder.
    assert {c.metrics["same_module"] for c in evaluations} == {1.0}

    out = tmp_path / "export"
    exported = run_cli("export", summary["run_id"], "--out", str(out), "--db", db_url)
    assert exported.returncode == 0, exported.stderr
    (best,) = out.rglob("initial_program.py")
    text = best.read_text()
    assert "\treturn workload.makespan(SPREAD), schedule" in text  # tabs kept
    assert "SPREAD = 2.0" not in text


def test_skydiscover_candidate_cannot_write_into_the_evaluator_folder(
    tmp_path: Path, db_url: str
) -> None:
    hostile = SKY_SEED.replace(
        "# EVOLVE-BLOCK-START\n",
        "import os\n"
        "import txn_simulator\n"
        "\n"
        "def _tamper():\n"
        "\tfolder = os.path.dirname(txn_simulator.__file__)\n"
        "\ttry:\n"
        "\t\twith open(os.path.join(folder, 'txn_simulator.py'), 'a') as f:\n"
        "\t\t\tf.write('\\nWorkload.makespan = lambda self, spread: 1.0\\n')\n"
        "\t\twith open(os.path.join(folder, 'planted.py'), 'w') as f:\n"
        "\t\t\tf.write('PLANTED = True\\n')\n"
        "\texcept OSError:\n"
        "\t\treturn\n"
        "\n"
        "_tamper()\n"
        "\n"
        "# EVOLVE-BLOCK-START\n",
    )
    folder = write_skydiscover(tmp_path, hostile)
    before = snapshot(folder / "evaluator")
    summary = cli_json("run", str(folder), "--max-evaluations", "6", "--seed", "1", "--db", db_url)
    assert snapshot(folder / "evaluator") == before
    assert summary["evaluations"]["ok"] == 6
    # A tampered simulator would have scored 1000; the honest maximum is 10.
    assert summary["seed_score"] == pytest.approx(1000 / 130)
    assert all(c.score is not None and c.score <= 10.0 for c in stored(db_url, summary["run_id"]))


def test_skydiscover_config_may_sit_in_the_evaluator_folder(tmp_path: Path) -> None:
    folder = write_skydiscover(tmp_path)
    (folder / "config.yaml").rename(folder / "evaluator" / "config.yaml")
    task = load_task_folder(folder)
    assert task.objective.startswith("You are an expert in database transaction")
    assert [(s.name, s.threshold) for s in task.stages] == [("evaluate_stage1", 0.5)]


def _move_spread(request: SeenRequest) -> Reply:
    old = re.search(r"^SPREAD = (\S+?)\r?$", request.body["messages"][-1]["content"], re.M)
    assert old, "the prompt does not show the parent's SPREAD"
    new = (float(old.group(1)) + 5.0) / 2
    return Reply(
        "Spread the transactions further.\n\n"
        f"<<<<<<< SEARCH initial_program.py\nSPREAD = {old.group(1)}\n=======\n"
        f"SPREAD = {new!r}\n>>>>>>> REPLACE\n"
    )


def test_skydiscover_folder_runs_with_a_model_through_litellm(tmp_path: Path, db_url: str) -> None:
    folder = write_skydiscover(tmp_path)
    with ScriptedModelServer(default=_move_spread) as server:
        outcome = run_llm(folder, db_url, server.api_base, evaluations=3)
    assert outcome.summary["evaluations"]["ok"] == 3
    assert outcome.summary["seed_score"] == pytest.approx(1000 / 130)
    # 2.0 -> 3.5 -> 4.25: makespan 107.5
    assert outcome.best_score == pytest.approx(1000 / 107.5)
    assert "SPREAD = 4.25" in outcome.best_files["initial_program.py"]
    assert "Find the SPREAD that gives the lowest makespan." in server.chat_requests()[0].prompt


# -- ShinkaEvolve ---------------------------------------------------------------------

SHINKA_SEED = (
    "# EVOLVE-BLOCK-START\n"
    '"""Constructor-based packing of 4 equal circles in the unit square"""\n'
    "\n\n"
    "def construct_packing():\n"
    "\tradius = 0.05\n"
    "\tradii = [radius] * 4\n"
    "\treturn radii, sum(radii)\n"
    "\n\n\n"
    "# EVOLVE-BLOCK-END\n"
    "\n\n"
    "def run_packing():\n"
    '\t"""The experiment function evaluate.py names."""\n'
    "\treturn construct_packing()\n"
)

SHINKA_GEOMETRY = """
def fits(radius):
    return 0.0 < radius <= 0.25
"""

SHINKA_EVALUATE = '''
"""Evaluator for the 4-circle packing, in the shape of examples/circle_packing."""

import argparse
import os
from typing import Any, Dict, List, Optional, Tuple

from geometry import fits
from shinka.core import run_shinka_eval


def validate_packing(run_output) -> Tuple[bool, Optional[str]]:
    radii, reported_sum = run_output
    for index, radius in enumerate(radii):
        if not fits(radius):
            return False, f"Circle {index} (r={radius:.4f}) is outside unit square."
    return True, "The circles are placed correctly."


def get_kwargs(run_index: int) -> Dict[str, Any]:
    return {}


def aggregate_metrics(results: List[Any], results_dir: str) -> Dict[str, Any]:
    radii, reported_sum = results[0]
    return {
        "combined_score": float(reported_sum),
        "public": {"num_circles": len(radii), "largest_radius": max(radii)},
        "private": {"reported_sum_of_radii": float(reported_sum)},
        "text_feedback": f"sum of radii {reported_sum:.4f}; larger circles still fit",
    }


def main(program_path: str, results_dir: str):
    os.makedirs(results_dir, exist_ok=True)

    def _aggregator_with_context(r):
        return aggregate_metrics(r, results_dir)

    metrics, correct, error_msg = run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="run_packing",
        num_runs=1,
        get_experiment_kwargs=get_kwargs,
        validate_fn=validate_packing,
        aggregate_metrics_fn=_aggregator_with_context,
    )
    print("correct" if correct else f"failed: {error_msg}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", type=str, default="initial.py")
    parser.add_argument("--results_dir", type=str, default="results")
    parsed_args = parser.parse_args()
    main(parsed_args.program_path, parsed_args.results_dir)
'''

SHINKA_RUN_EVO = '''
#!/usr/bin/env python3
from shinka.core import EvolutionConfig, ShinkaEvolveRunner

search_task_sys_msg = """You are an expert in circle packing. Make the 4 circles as large as fit."""


def main():
    ShinkaEvolveRunner(evo_config=EvolutionConfig(task_sys_msg=search_task_sys_msg)).run()


if __name__ == "__main__":
    main()
'''

SHINKA_YAML = """
evo_config:
  patch_types: [diff, full, cross]
  num_generations: 400
"""


def write_shinka(root: Path, seed: str = SHINKA_SEED) -> Path:
    return write_layout(
        root,
        "circle_packing",
        {
            "initial.py!crlf": seed,
            "evaluate.py": SHINKA_EVALUATE,
            "geometry.py": SHINKA_GEOMETRY,
            "run_evo.py": SHINKA_RUN_EVO,
            "shinka_small.yaml": SHINKA_YAML,
        },
    )


def test_shinka_folder_runs_with_the_cli_and_its_feedback_is_stored(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_shinka(tmp_path)
    task = load_task_folder(folder)
    assert task.objective == (
        "You are an expert in circle packing. Make the 4 circles as large as fit."
    )
    assert [f.name for f in task.files] == ["initial.py"]

    summary = cli_json("run", str(folder), "--max-evaluations", "10", "--seed", "2", "--db", db_url)
    assert summary["task"] == "circle_packing"
    assert summary["seed_score"] == pytest.approx(0.2)
    assert summary["best_score"] > summary["seed_score"]
    seed = stored(db_url, summary["run_id"])[0]
    assert seed.status == "ok"
    assert seed.feedback == "sum of radii 0.2000; larger circles still fit"
    assert seed.metrics["num_circles"] == 4  # public metrics sit with the others
    assert "reported_sum_of_radii" not in seed.metrics  # private ones never reach a prompt


def test_shinka_incorrect_result_makes_the_candidate_invalid_with_its_error(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_shinka(tmp_path, SHINKA_SEED.replace("radius = 0.05", "radius = 0.3"))
    result = run_cli("run", str(folder), "--max-evaluations", "1", "--db", db_url, "--json")
    assert result.returncode == 1, result.stderr  # the run's only evaluation failed
    run_id = re.search(r'"run_id": "(\w+)"', result.stdout).group(1)
    (seed,) = stored(db_url, run_id)
    assert seed.status == "invalid"
    assert seed.reason == "Validation failed: Circle 0 (r=0.3000) is outside unit square."
    (group,) = json.loads(result.stdout)["failures"]
    assert group == {"status": "invalid", "reason": seed.reason, "count": 1}


def test_shinka_candidate_cannot_forge_its_metrics_files(tmp_path: Path, db_url: str) -> None:
    forger = SHINKA_SEED.replace(
        "# EVOLVE-BLOCK-START\n",
        "import json, os, threading, time\n"
        "from shinka.core import run_shinka_eval\n"
        "\n"
        "FORGED = {'combined_score': 1000000.0, 'text_feedback': 'forged'}\n"
        "\n"
        "def _forge():\n"
        "\tfor folder, _, _ in os.walk(os.getcwd()):\n"
        "\t\ttry:\n"
        "\t\t\twith open(os.path.join(folder, 'metrics.json'), 'w') as f:\n"
        "\t\t\t\tjson.dump(FORGED, f)\n"
        "\t\t\twith open(os.path.join(folder, 'correct.json'), 'w') as f:\n"
        "\t\t\t\tjson.dump({'correct': True, 'error': None}, f)\n"
        "\t\texcept OSError:\n"
        "\t\t\tpass\n"
        "\n"
        "def _keep_forging():\n"
        "\tfor _ in range(400):\n"
        "\t\t_forge()\n"
        "\t\ttime.sleep(0.005)\n"
        "\n"
        "def _forged_call():\n"
        "\tfake = os.path.join(os.getcwd(), 'fake.py')\n"
        "\twith open(fake, 'w') as f:\n"
        "\t\tf.write('def run(seed=0):\\n    return 0\\n')\n"
        "\trun_shinka_eval(fake, os.getcwd(), 'run', 1,\n"
        "\t\taggregate_metrics_fn=lambda r: dict(FORGED))\n"
        "\n"
        "_forge()\n"
        "_forged_call()  # nested inside the evaluator's own call\n"
        "threading.Thread(target=_keep_forging, daemon=True).start()\n"
        "threading.Thread(target=_forged_call, daemon=True).start()\n"
        "\n"
        "# EVOLVE-BLOCK-START\n",
    )
    folder = write_shinka(tmp_path, forger)
    summary = cli_json("run", str(folder), "--max-evaluations", "4", "--seed", "1", "--db", db_url)
    evaluations = stored(db_url, summary["run_id"])
    assert summary["seed_score"] == pytest.approx(0.2)
    assert evaluations and all(c.score is not None and c.score <= 1.0 for c in evaluations)
    assert not any("forged" in c.feedback for c in evaluations)


def test_shinka_main_that_only_writes_metrics_files_is_refused_naming_the_fix(
    tmp_path: Path, db_url: str
) -> None:
    # The shape of examples/sine_approx_headless: main writes metrics.json itself.
    # evoforge cannot tell that file from one the candidate wrote, so it never reads it.
    folder = write_shinka(tmp_path)
    (folder / "evaluate.py").write_text(
        textwrap.dedent(
            """
            import json, os

            def main(program_path, results_dir):
                os.makedirs(results_dir, exist_ok=True)
                with open(os.path.join(results_dir, "metrics.json"), "w") as f:
                    json.dump({"combined_score": 1.0}, f)
            """
        )
    )
    result = run_cli("run", str(folder), "--db", db_url)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "evaluate.py: main() writes its result only to files" in message
    assert "end main with `return metrics, correct, error`" in message
    assert "Traceback" not in result.stderr

    # With that one line added, the same evaluator runs.
    text = (folder / "evaluate.py").read_text()
    (folder / "evaluate.py").write_text(
        text + "    return {'combined_score': 0.5, 'text_feedback': 'returned'}, True, None\n"
    )
    summary = cli_json("run", str(folder), "--max-evaluations", "1", "--db", db_url)
    assert summary["seed_score"] == pytest.approx(0.5)


def _grow_radius(request: SeenRequest) -> Reply:
    old = re.search(r"^\tradius = (\S+?)\r?$", request.body["messages"][-1]["content"], re.M)
    assert old, "the prompt does not show the parent's radius"
    new = round((float(old.group(1)) + 0.25) / 2, 4)
    return Reply(
        "Grow the circles towards the square's quarter.\n\n"
        f"<<<<<<< SEARCH initial.py\n\tradius = {old.group(1)}\n=======\n"
        f"\tradius = {new}\n>>>>>>> REPLACE\n"
    )


def test_shinka_folder_runs_with_a_model_and_text_feedback_reaches_it(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_shinka(tmp_path)
    with ScriptedModelServer(default=_grow_radius) as server:
        outcome = run_llm(folder, db_url, server.api_base, evaluations=3)
    assert outcome.summary["evaluations"]["ok"] == 3
    # 0.05 -> 0.15 -> 0.2: four circles of radius 0.2
    assert outcome.best_score == pytest.approx(0.8)
    prompts = [request.prompt for request in server.chat_requests()]
    assert "Make the 4 circles as large as fit." in prompts[0]
    assert "sum of radii 0.2000; larger circles still fit" in prompts[0]
    # The child's own feedback is shown when it is the parent (proposals may run ahead).
    assert any("sum of radii 0.6000; larger circles still fit" in p for p in prompts[1:])


# -- no layout ------------------------------------------------------------------------


def test_folder_matching_no_layout_lists_every_layout_and_its_files(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_layout(tmp_path, "stray", {"notes.txt": "nothing here", "program.py": "X = 1"})
    result = run_cli("run", str(folder), "--db", db_url)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    for needed in (
        "task.toml",
        "OpenEvolve: initial_program.* next to evaluator.py",
        "SkyDiscover/ADRS: initial_program.* next to evaluator/evaluator.py",
        "ShinkaEvolve: initial.* next to evaluate.py",
        "evaluator/evaluate.sh and evaluator/Dockerfile",
    ):
        assert needed in message
    assert "Traceback" not in result.stderr


# -- the docker sandbox ---------------------------------------------------------------


@pytest.mark.slow
def test_both_layouts_run_in_the_docker_sandbox(tmp_path: Path, dockerd) -> None:  # noqa: ANN001
    """There the folders are mounted elsewhere: the evaluator and its modules are found."""
    from support.dockerd import run_config

    config = run_config(tmp_path, dockerd)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    for folder, seed_score in (
        (write_skydiscover(tmp_path), 1000 / 130),
        (write_shinka(tmp_path), 0.2),
    ):
        summary = cli_json(
            "run", str(folder), "--sandbox", "docker", "--config", str(config),
            "--max-evaluations", "3", "--seed", "1", "--db", db, timeout=300,
        )  # fmt: skip
        assert summary["evaluations"]["ok"] == 3, folder.name
        assert summary["seed_score"] == pytest.approx(seed_score)
