"""OpenEvolve folders behave as in OpenEvolve: cascades, fitness, artifacts, config.yaml,
and a seed that cannot be evaluated stops the run instead of burning its budget."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli, write_folder_task
from support.careful_model import CarefulModel
from support.model_server import ScriptedModelServer

from evoforge.store.database import open_database
from evoforge.store.repository import Repository

FIXTURES = Path(__file__).parent / "fixtures" / "openevolve"


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def _repo(db_url: str) -> Repository:
    return Repository(open_database(db_url))


def test_candidates_stopped_at_stage_one_have_its_metrics_and_the_run_a_best(
    tmp_path: Path, db_url: str
) -> None:
    folder = _copy("stage1_only", tmp_path)
    summary = cli_json("run", str(folder), "--max-evaluations", "6", "--seed", "3", "--db", db_url)
    # No combined_score: OpenEvolve's fitness is the mean of the numeric metrics other
    # than the feature dimension `complexity` (and the flag `parsed`): (0.1 + 0.2) / 2.
    assert summary["seed_score"] == pytest.approx(0.15)
    assert summary["best_score"] is not None and summary["best_score"] >= 0.15
    assert summary["evaluations"]["ok"] == 6
    repo = _repo(db_url)
    seed = repo.candidate_detail(repo.lineage(summary["run_id"])["nodes"][0]["id"])
    assert seed["evaluation"]["stage"] == "evaluate_stage1"
    assert seed["evaluation"]["metrics"]["complexity"] == 0.3
    out = tmp_path / "best"
    exported = run_cli("export", summary["run_id"], "--out", str(out), "--db", db_url)
    assert exported.returncode == 0, exported.stderr
    (best,) = out.glob("rank-01-*/initial_program.py")
    assert "SPREAD =" in best.read_text()


def _with_api_base(folder: Path, api_base: str) -> None:
    config = folder / "config.yaml"
    if config.is_file():
        config.write_text(config.read_text().replace("http://127.0.0.1:9/v1", api_base))


@pytest.mark.slow
def test_every_mapped_config_key_is_honoured_and_the_rest_named_once(
    tmp_path: Path, db_url: str
) -> None:
    folder = _copy("artifacts_and_config", tmp_path)
    model = CarefulModel(seed=5)
    with ScriptedModelServer(default=model) as server:
        _with_api_base(folder, server.api_base)
        result = run_cli("run", str(folder), "--proposer", "llm", "--json", "--db", db_url)
        requests = server.chat_requests()
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # max_iterations: the seed plus five children.
    assert summary["evaluations"]["total"] == 6
    ignored = [line for line in result.stderr.splitlines() if "ignored" in line]
    assert len(ignored) == 1
    for key in ("checkpoint_interval", "log_level", "prompt.use_template_stochasticity",
                "database.in_memory", "evaluator.max_retries"):  # fmt: skip
        assert key in ignored[0]
    for key in ("max_iterations", "llm.models", "database.num_islands", "evaluator.timeout"):
        assert key not in ignored[0]

    run = _repo(db_url).get_run(summary["run_id"])
    config, task = run.config_json, run.task_json
    assert config["seed"] == 17
    assert config["max_code_length"] == 2000
    assert config["evaluation_slots"] == 1
    assert config["strategy_options"] == {
        "islands": 2, "migration_interval": 7, "migration_rate": 0.5, "population_size": 40,
        "archive_size": 20, "exploration": 0.3, "exploitation": 0.6,
    }  # fmt: skip
    options = config["proposer_options"]
    assert [(m["model"], m["weight"]) for m in options["models"]] == [
        ("openai/careful-a", 0.8),
        ("openai/careful-b", 0.2),
    ]
    assert options["timeout_s"] == 45 and options["inspirations"] == 2
    assert options["mode_weights"] == {"full": 1.0}  # diff_based_evolution: false
    assert task["resources"]["timeout_s"] == 30
    assert task["stages"] == []  # cascade_evaluation: false

    # What litellm sent: the models, temperature, max_tokens, system message, full mode.
    assert {r.model for r in requests} <= {"careful-a", "careful-b"}
    assert all(r.body["temperature"] == 0.3 and r.body["max_tokens"] == 1234 for r in requests)
    assert all("SYSTEM-MESSAGE-MARKER" in r.body["messages"][0]["content"] for r in requests)
    assert {mode for mode, _ in model.answers} == {"full"}


@pytest.mark.slow
def test_artifacts_reach_the_next_prompt_about_that_candidate_capped(
    tmp_path: Path, db_url: str
) -> None:
    folder = _copy("artifacts_and_config", tmp_path)
    with ScriptedModelServer(default=CarefulModel(seed=2)) as server:
        _with_api_base(folder, server.api_base)
        result = run_cli(
            "run", str(folder), "--proposer", "llm", "--max-evaluations", "2",
            "-E", "1", "-P", "1", "--json", "--db", db_url,
        )  # fmt: skip
        prompt = server.chat_requests()[0].body["messages"][-1]["content"]
    assert result.returncode == 0, result.stderr
    assert "ARTIFACT-DIAGNOSIS: the series is off by" in prompt
    # The 100 kB trace is cut from the front (its end kept), within the 20 KiB default.
    assert "ARTIFACT-TRACE-END" in prompt and "ARTIFACT-TRACE-START" not in prompt
    assert prompt.count("x") < 21 * 1024


def test_an_openevolve_config_given_with_config_replaces_the_folders_and_flags_win(
    tmp_path: Path, db_url: str
) -> None:
    folder = _copy("blank_runs", tmp_path)
    (folder / "config.yaml").write_text("max_iterations: 50\nrandom_seed: 1\n")
    phase = tmp_path / "config_phase_1.yaml"
    phase.write_text(
        "max_iterations: 3\nrandom_seed: 9\n"
        "prompt:\n  system_message: PHASE-ONE\n"
        "evaluator:\n  timeout: 12\n"
    )
    summary = cli_json(
        "run", str(folder), "--config", str(phase), "--seed", "4", "--db", db_url
    )
    assert summary["evaluations"]["total"] == 4  # phase 1's 3 iterations, not the folder's 50
    run = _repo(db_url).get_run(summary["run_id"])
    assert run.config_json["seed"] == 4  # the flag wins over the file
    assert run.task_json["objective"] == "PHASE-ONE"
    assert run.task_json["resources"]["timeout_s"] == 12


def test_a_config_naming_models_keeps_the_offline_proposer_and_says_how_to_use_them(
    tmp_path: Path, db_url: str
) -> None:
    folder = _copy("artifacts_and_config", tmp_path)
    result = run_cli("run", str(folder), "--max-evaluations", "3", "--json", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert "openai/careful-a" in result.stderr and "--proposer llm" in result.stderr
    assert json.loads(result.stdout)["evaluations"]["total"] == 3


UNUSABLE = {
    "missing_module": (
        "import evoforge_no_such_module\n\ndef evaluate(program_path):\n    return 1.0\n",
        "No module named 'evoforge_no_such_module'",
    ),
    "evaluator_raises_on_load": (
        "open('/nonexistent/evoforge-data.csv')\n\ndef evaluate(program_path):\n    return 1.0\n",
        "loading the evaluator",
    ),
    "timeout": (
        "import time\n\ndef evaluate(program_path):\n    time.sleep(60)\n    return 1.0\n",
        "timed out",
    ),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_a_seed_no_proposal_can_fix_stops_the_run_at_once_with_the_fix(
    case: str, tmp_path: Path, db_url: str
) -> None:
    evaluator, expected = UNUSABLE[case]
    folder = write_folder_task(
        tmp_path,
        case,
        {
            "initial_program.py": "# EVOLVE-BLOCK-START\nX = 1.0\n# EVOLVE-BLOCK-END\n",
            "evaluator.py": evaluator,
            "config.yaml": "evaluator:\n  timeout: 2\n",
        },
    )
    args = ["run", str(folder), "--max-evaluations", "20", "--db", db_url]
    result = run_cli(*args)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert expected in message and "--keep-going" in message
    assert len(message.splitlines()) <= 3  # one error line (the terminal may wrap it)
    (run,) = _repo(db_url).list_runs()
    assert run["evaluations"]["total"] == 1  # the seed only, not 20 times the same error
    if case == "missing_module":
        kept = cli_json(*args[:-2], "--max-evaluations", "3", "--keep-going", "--db", db_url)
        assert kept["evaluations"]["failed"] == 3


def test_a_seed_failing_in_its_own_code_is_left_to_the_search(
    tmp_path: Path, db_url: str
) -> None:
    folder = write_folder_task(
        tmp_path,
        "own_fault",
        {
            "initial_program.py": textwrap.dedent(
                """\
                # EVOLVE-BLOCK-START
                X = 0.0
                # EVOLVE-BLOCK-END
                Y = 1 / X
                """
            ),
            "evaluator.py": textwrap.dedent(
                """\
                import runpy

                def evaluate(program_path):
                    return {"combined_score": runpy.run_path(program_path)["Y"]}
                """
            ),
        },
    )
    summary = cli_json("run", str(folder), "--max-evaluations", "4", "--db", db_url)
    assert summary["evaluations"]["total"] == 4
    assert summary["evaluations"]["failed"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_each_openevolve_fixture_runs_offline_and_with_a_careful_model(
    name: str, tmp_path: Path, db_url: str
) -> None:
    folder = _copy(name, tmp_path)
    offline = cli_json("run", str(folder), "--max-evaluations", "3", "--db", db_url)
    assert offline["evaluations"]["total"] == 3 and offline["seed_score"] is not None
    with ScriptedModelServer(default=CarefulModel(seed=11)) as server:
        _with_api_base(folder, server.api_base)
        with_model = cli_json(
            "run", str(folder), "--model", "openai/careful", "--api-base", server.api_base,
            "--mode-weights", "diff=1,full=1,crossover=1", "--max-evaluations", "4",
            "--db", db_url,
        )  # fmt: skip
    assert with_model["evaluations"]["total"] == 4
    proposals = _repo(db_url).list_proposals(with_model["run_id"])
    assert [p["reason"] for p in proposals if p["status"] not in ("accepted", "duplicate")] == []
