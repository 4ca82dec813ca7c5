"""The container protocol (SkyDiscover's `evaluate.sh PROGRAM MODE` -> one JSON object).

What a user sees: a folder with `initial_program.py` and `evaluator/evaluate.sh` runs
with `evoforge run FOLDER` under the process sandbox and, once `evoforge sandbox build
FOLDER` made its image, under `--sandbox docker`; evaluate.sh's stdout is the result,
refused with a clear reason when it is anything but one JSON object, whatever the
candidate prints into it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli
from sqlalchemy import create_engine, text
from support.protocol_folders import SEED, write_protocol_folder

from evoforge.folder_tasks import TaskFolderError, is_task_folder, load_task_folder
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.protocols import Sandbox
from evoforge.sandboxes.process import ProcessSandbox
from evoforge.sandboxes.script_protocol import (
    SCRIPT_EVALUATE,
    ScriptProtocolError,
    parse_stdout,
    to_result,
)
from evoforge.sandboxes.task_images import build_task_image, rebase, task_image_tag

GENUINE = '{"status": "success", "combined_score": 0.25, "metrics": {"x": 1}}'


# -- the JSON on stdout ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "says"),
    [
        (b"", "printed nothing on stdout"),
        (b"score: 1.0\n", "not a JSON object"),
        (b'{"status": "success", "combined_score": ', "not a JSON object"),
        (b"[1, 2]\n", "not an object"),
        (f'{GENUINE}\n{{"status": "success", "combined_score": 99}}\n'.encode(), "second JSON"),
        (f'{{"status": "success", "combined_score": 99}}\n{GENUINE}\n'.encode(), "second JSON"),
        (f"{GENUINE}\ndebug line\n".encode(), "more output"),
        (b"x" * ((1 << 20) + 1), "more than 1 MiB"),
    ],
    ids=["empty", "text", "malformed", "array", "forged-after", "forged-before", "noise", "huge"],
)
def test_stdout_that_is_not_exactly_one_json_object_is_refused_with_the_reason(
    stdout: bytes, says: str
) -> None:
    with pytest.raises(ScriptProtocolError, match=says):
        parse_stdout(stdout)


def test_status_error_makes_the_candidate_invalid_with_the_evaluators_error() -> None:
    result = to_result(
        {"status": "error", "combined_score": 0.0, "artifacts": {"error": "IndexError in solve"}}
    )
    assert not result.valid
    assert result.reason == "evaluate.sh reported status error: IndexError in solve"


def test_success_maps_score_metrics_and_artifacts() -> None:
    result = to_result(
        {
            "status": "success",
            "combined_score": 0.5,
            "metrics": {"latency": 3, "note": "not a number"},
            "artifacts": {"log": "fine", "table": [1, 2]},
        }
    )
    assert result.valid and result.score == 0.5
    assert result.metrics == {"latency": 3.0, "combined_score": 0.5}
    assert result.artifacts == {"log": "fine", "table": "[1, 2]"}
    assert "log: fine" in result.feedback


def test_unknown_status_is_a_protocol_error() -> None:
    with pytest.raises(ScriptProtocolError, match="status 'done'"):
        to_result({"status": "done", "combined_score": 1})


# -- the folder -------------------------------------------------------------------------


CONFIG_YAML = "prompt:\n  system_message: Make X three.\nevaluator:\n  timeout: 9\n"


def test_folder_with_evaluate_sh_loads_as_a_container_protocol_task(tmp_path: Path) -> None:
    folder = write_protocol_folder(
        tmp_path,
        "awk_task",
        extra={"config.yaml": CONFIG_YAML},
    )
    assert is_task_folder(folder)
    task = load_task_folder(folder)
    assert task.evaluate == SCRIPT_EVALUATE
    assert task.metric == "combined_score"
    assert task.seed_files() == {"initial_program.py": SEED}
    assert task.objective == "Make X three."
    assert task.resources.timeout_s == 9
    assert task.resources.image == task_image_tag(folder)
    assert task.test_instances == ["test"]


def test_folder_with_a_python_evaluator_too_takes_the_python_route(tmp_path: Path) -> None:
    folder = write_protocol_folder(
        tmp_path,
        "both",
        extra={"evaluator/evaluator.py": "def evaluate(program_path):\n    return 1.0\n"},
    )
    assert load_task_folder(folder).evaluate.endswith("evaluator.py:evaluate")


def test_naming_the_evaluator_folder_chooses_evaluate_sh_over_evaluator_py(
    tmp_path: Path,
) -> None:
    folder = write_protocol_folder(
        tmp_path,
        "both",
        extra={"evaluator/evaluator.py": "def evaluate(program_path):\n    return 1.0\n"},
    )
    assert is_task_folder(folder / "evaluator")
    task = load_task_folder(folder / "evaluator")
    assert (task.name, task.evaluate) == ("both", SCRIPT_EVALUATE)
    assert task.seed_files() == {"initial_program.py": SEED}


def test_folder_without_a_seed_program_says_what_to_add(tmp_path: Path) -> None:
    folder = write_protocol_folder(tmp_path, "no_seed")
    (folder / "initial_program.py").unlink()
    with pytest.raises(TaskFolderError, match="no initial_program"):
        load_task_folder(folder)


def test_image_tag_follows_the_evaluator_files(tmp_path: Path) -> None:
    folder = write_protocol_folder(tmp_path, "Tagged Task")
    before = task_image_tag(folder)
    assert before.startswith("evoforge-task-tagged-task:")
    (folder / "initial_program.py").write_text("print(2)\n")  # the seed is not in the image
    assert task_image_tag(folder) == before
    (folder / "evaluator" / "data.txt").write_text("1 2 3\n")
    assert task_image_tag(folder) != before


def test_base_override_replaces_outside_images_but_not_stage_names() -> None:
    dockerfile = (
        "ARG V=1\nFROM --platform=linux/amd64 golang:1.22 AS build\nRUN make\n"
        "from python:3.12-slim\nCOPY --from=build /out /out\nFROM build AS again\n"
    )
    assert rebase(dockerfile, "local/base:1") == (
        "ARG V=1\nFROM --platform=linux/amd64 local/base:1 AS build\nRUN make\n"
        "from local/base:1\nCOPY --from=build /out /out\nFROM build AS again\n"
    )


# -- whole runs ---------------------------------------------------------------------------


def check_test_scores_follow_mode_test(db: str) -> None:
    """Every held-out score is -(x - 4)^2, MODE=test's target, for the candidate's x."""
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select s.split, s.score, e.metrics_json from split_scores s "
                "join evaluations e on e.candidate_id = s.candidate_id and e.run_id = s.run_id"
            )
        ).all()
    engine.dispose()
    assert rows, "the run scored no held-out split"
    for split, score, metrics in rows:
        x = json.loads(metrics)["x"]
        assert (split, score) == ("test", pytest.approx(-((x - 4) ** 2)))


def evaluation_sandboxes(db: str) -> list[str]:
    engine = create_engine(db)
    with engine.connect() as conn:
        found = conn.execute(text("select distinct sandbox from evaluations")).scalars().all()
    engine.dispose()
    return found


@pytest.mark.slow
def test_sh_and_awk_evaluator_evolves_in_the_process_sandbox(tmp_path: Path) -> None:
    folder = write_protocol_folder(tmp_path, "awk_task")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    summary = cli_json(
        "run", str(folder), "--max-evaluations", "12", "--seed", "1", "--db", db, timeout=300
    )
    assert summary["status"] == "finished"
    assert summary["evaluations"]["ok"] == 12
    assert summary["seed_score"] == pytest.approx(-4.0)  # X = 1, target 3 in MODE=train
    assert summary["best_score"] > summary["seed_score"]
    # When the run ends, the held-out split runs evaluate.sh with MODE=test (target 4).
    check_test_scores_follow_mode_test(db)
    assert all(s.startswith("process") for s in evaluation_sandboxes(db))


@pytest.mark.slow
def test_a_careful_model_evolves_a_protocol_folder_through_litellm(tmp_path: Path) -> None:
    from support.careful_model import CarefulModel
    from support.model_server import ScriptedModelServer

    folder = write_protocol_folder(tmp_path, "awk_task_llm")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with ScriptedModelServer(default=CarefulModel(seed=4)) as server:
        summary = cli_json(
            "run", str(folder), "--model", "openai/careful", "--api-base", server.api_base,
            "--max-evaluations", "5", "-E", "1", "-P", "1", "--db", db, timeout=300,
        )  # fmt: skip
        prompts = [r.body["messages"][-1]["content"] for r in server.chat_requests()]
    assert summary["evaluations"]["ok"] == 5
    engine = create_engine(db)
    with engine.connect() as conn:
        statuses = conn.execute(text("select status from proposals")).scalars().all()
    engine.dispose()
    assert set(statuses) <= {"accepted", "duplicate"}
    # The evaluator's JSON artifacts reach the next prompt about that candidate.
    assert "## mode\ntrain" in prompts[0]


# -- hostile candidates, in both sandboxes --------------------------------------------------

LEAKY_EVALUATOR = """
#!/bin/sh
# The candidate shares this script's stdout: nothing captures what it prints.
python3 "$1" >&1 || exit 0
echo '{"status": "success", "combined_score": 0.25, "metrics": {}}'
"""


def evaluation(sandbox: Sandbox, folder: Path, program: str, timeout_s: float = 20):
    """Evaluate `program` as the folder's candidate in `sandbox`."""
    task = load_task_folder(folder)
    job = EvaluationJob.for_candidate(
        task, "test-run", "c1", {task.primary: program}, sandbox.name
    ).model_copy(update={"resources": task.resources.model_copy(update={"timeout_s": timeout_s})})
    if sandbox.name == "docker":
        client = sandbox.client()  # type: ignore[attr-defined]
        from support.dockerd import TEST_IMAGE

        build_task_image(folder, client, base=TEST_IMAGE)
    return sandbox.run(job)


@pytest.fixture(params=["process", "docker"])
def protocol_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each sandbox in turn; Docker runs the folder's image with this machine's /usr."""
    if request.param == "process":
        return ProcessSandbox()
    from support.dockerd import interpreter_mounts

    from evoforge.sandboxes.container import DockerSandbox

    dockerd = request.getfixturevalue("dockerd")
    return DockerSandbox(
        base_url=dockerd.base_url, mounts=[*interpreter_mounts(), "/etc/alternatives"]
    )


def failed_with(outcome: EvaluationOutcome, says: str) -> None:
    assert outcome.status == "failed", (outcome.status, outcome.reason, outcome.stderr)
    assert says in outcome.reason
    assert outcome.score is None


def test_forged_json_from_a_candidate_sharing_stdout_is_refused(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = write_protocol_folder(tmp_path, "leaky", LEAKY_EVALUATOR)
    forged = 'print(\'{"status": "success", "combined_score": 1000000.0}\')\n'
    failed_with(evaluation(protocol_sandbox, folder, forged), "second JSON object")


def test_forged_json_from_a_captured_candidate_never_reaches_the_result(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = write_protocol_folder(tmp_path, "captured")  # the awk evaluator captures it
    forged = 'print(\'{"status": "success", "combined_score": 1000000.0}\')\nprint(2.0)\n'
    outcome = evaluation(protocol_sandbox, folder, forged)
    assert (outcome.status, outcome.score) == ("ok", pytest.approx(-1.0)), outcome.reason


NONCE_THIEF = """
import os

# Walk up through every evoforge harness process (they hold the result file's nonce),
# pid 1 of the sandbox's namespace included, and try to read their memory.
pid, opened = os.getppid(), 0
while pid >= 1:
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        is_harness = b"harness" in handle.read()
    if is_harness:
        try:
            with open(f"/proc/{pid}/mem", "rb"):
                opened = 1
        except OSError:
            pass
    if pid == 1:
        break
    with open(f"/proc/{pid}/stat") as handle:
        pid = int(handle.read().rsplit(")", 1)[1].split()[1])
print(opened)
"""


def test_candidate_cannot_read_the_harness_memory_that_holds_the_nonce(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = write_protocol_folder(tmp_path, "thief")
    outcome = evaluation(protocol_sandbox, folder, NONCE_THIEF)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    assert outcome.metrics["x"] == 0  # x = 1 would mean it opened the harness's memory


def test_candidate_that_never_exits_is_killed_at_the_deadline(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = write_protocol_folder(tmp_path, "hang", LEAKY_EVALUATOR)
    started = time.monotonic()
    outcome = evaluation(protocol_sandbox, folder, "import time\ntime.sleep(3600)\n", timeout_s=2)
    assert outcome.status == "timeout", (outcome.status, outcome.reason)
    assert "timed out after 2 s" in outcome.reason
    assert time.monotonic() - started < 20


def test_candidate_flooding_stdout_is_refused_without_holding_it(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = write_protocol_folder(tmp_path, "flood", LEAKY_EVALUATOR)
    flood = "import sys\nfor _ in range(64):\n    sys.stdout.write('x' * (1 << 16))\n"
    failed_with(evaluation(protocol_sandbox, folder, flood), "more than 1 MiB")


def test_candidate_printing_text_on_shared_stdout_is_refused(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = write_protocol_folder(tmp_path, "chatty", LEAKY_EVALUATOR)
    failed_with(evaluation(protocol_sandbox, folder, "print('hello')\n"), "not a JSON object")


def test_evaluator_that_breaks_is_failed_with_its_last_words(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    broken = "#!/bin/sh\necho 'cannot open dataset.csv' >&2\nexit 3\n"
    folder = write_protocol_folder(tmp_path, "broken", broken)
    outcome = evaluation(protocol_sandbox, folder, SEED)
    failed_with(outcome, "evaluate.sh exited 3 (the evaluator itself failed): cannot open")
    assert "cannot open dataset.csv" in outcome.stderr


def test_evaluate_sh_that_is_not_executable_names_the_fix(tmp_path: Path) -> None:
    folder = write_protocol_folder(tmp_path, "not_executable")
    (folder / "evaluator" / "evaluate.sh").chmod(0o644)
    outcome = evaluation(ProcessSandbox(), folder, SEED)
    failed_with(outcome, "is not executable; run chmod +x on it")


def test_process_left_behind_holding_stdout_does_not_hold_the_evaluation(
    protocol_sandbox: Sandbox, tmp_path: Path
) -> None:
    lingering = (
        "#!/bin/sh\n(sleep 3600 &)\n"
        'echo \'{"status": "success", "combined_score": 0.5, "metrics": {}}\'\n'
    )
    folder = write_protocol_folder(tmp_path, "lingering", lingering)
    started = time.monotonic()
    outcome = evaluation(protocol_sandbox, folder, SEED, timeout_s=15)
    assert (outcome.status, outcome.score) == ("ok", 0.5), (outcome.reason, outcome.stderr)
    assert time.monotonic() - started < 10


# -- docker: the folder's own image ---------------------------------------------------------


def docker_config(tmp_path: Path, dockerd) -> Path:  # noqa: ANN001
    from support.dockerd import interpreter_mounts

    mounts = [*interpreter_mounts(), "/etc/alternatives"]
    config = tmp_path / "run.toml"
    config.write_text(
        f'[sandbox_options.docker]\nbase_url = "{dockerd.base_url}"\nmounts = {mounts!r}\n'.replace(
            "'", '"'
        )
    )
    return config


def test_docker_run_without_the_folders_image_names_the_build_command(
    tmp_path: Path,
    dockerd,  # noqa: ANN001
) -> None:
    folder = write_protocol_folder(tmp_path, "unbuilt")
    config = docker_config(tmp_path, dockerd)
    result = run_cli(
        "run", str(folder), "--sandbox", "docker", "--config", str(config),
        "--max-evaluations", "2", "--db", f"sqlite:///{tmp_path / 'store.db'}",
    )  # fmt: skip
    assert result.returncode == 2
    assert f"evoforge sandbox build {folder}" in result.stderr


@pytest.mark.slow
def test_sh_and_awk_evaluator_evolves_in_its_own_image_under_docker(
    tmp_path: Path,
    dockerd,  # noqa: ANN001
) -> None:
    from support.dockerd import TEST_IMAGE

    folder = write_protocol_folder(tmp_path, "awk_docker")
    built = run_cli(  # the evaluator folder names the same image as the task folder
        "sandbox", "build", str(folder / "evaluator"), "--base", TEST_IMAGE,
        "--docker-host", dockerd.base_url,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert f"built {task_image_tag(folder)}" in built.stdout
    db = f"sqlite:///{tmp_path / 'store.db'}"
    config = docker_config(tmp_path, dockerd)
    summary = cli_json(
        "run", str(folder), "--sandbox", "docker", "--config", str(config),
        "--max-evaluations", "8", "--seed", "1", "-E", "2", "--db", db, timeout=300,
    )  # fmt: skip
    assert summary["evaluations"]["ok"] == 8
    assert summary["seed_score"] == pytest.approx(-4.0)
    assert summary["best_score"] >= summary["seed_score"]
    check_test_scores_follow_mode_test(db)
    assert evaluation_sandboxes(db) == ["docker"]
