"""GEPA evaluators in a task folder run unchanged with `evoforge run FOLDER`.

Each form runs end to end with the offline proposer and with the llm proposer, whose
litellm calls cross real HTTP to the scripted loopback model server.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.gepa_folders import (
    COMPONENTS,
    EXAMPLE_AND_OPT_STATE,
    FIRST_PARAMETER_X,
    diff,
    evaluated,
    run_offline,
    run_with_model,
    seed_of,
    write,
)
from support.model_server import Script, ScriptedModelServer


def test_a_first_parameter_named_x_receives_the_prompt_text(tmp_path: Path, db_url: str) -> None:
    folder = write(tmp_path, "first_x", FIRST_PARAMETER_X)
    summary = run_offline(folder, db_url)
    assert summary["evaluations"]["ok"] == 6
    assert summary["seed_score"] == pytest.approx(-28.0)
    assert summary["best_score"] > summary["seed_score"]


def test_oa_log_reaches_the_stored_feedback(tmp_path: Path, db_url: str) -> None:
    folder = write(tmp_path, "logged", FIRST_PARAMETER_X)
    summary = run_offline(folder, db_url, evaluations=2)
    seed = seed_of(db_url, summary["run_id"])
    assert "log: the limit read from the prompt was 40.0" in seed.feedback
    assert "the limit should be near twelve" in seed.feedback


def test_oa_log_before_a_crash_is_kept_with_the_traceback(tmp_path: Path, db_url: str) -> None:
    files = dict(FIRST_PARAMETER_X)
    files["evaluate.py"] = files["evaluate.py"].replace(
        "return -abs", 'raise RuntimeError("no scorer")\n            return -abs'
    )
    folder = write(tmp_path, "crashing", files)
    summary = run_offline(folder, db_url, evaluations=1)
    seed = seed_of(db_url, summary["run_id"])
    assert seed.status == "failed"
    assert "RuntimeError: no scorer" in seed.feedback
    assert "log: the limit read from the prompt was 40.0" in seed.feedback


def test_example_and_opt_state_are_given_per_instance(tmp_path: Path, db_url: str) -> None:
    folder = write(tmp_path, "per_example", EXAMPLE_AND_OPT_STATE)
    summary = run_offline(folder, db_url)
    # mean over the examples of -|40 - 4n|: -(32 + 28) / 2
    assert summary["seed_score"] == pytest.approx(-30.0)
    assert summary["evaluations"]["ok"] == 6
    seed = seed_of(db_url, summary["run_id"])
    assert seed.instance_scores == {"0": -32.0, "1": -28.0}
    assert "OptimizationState with 0 earlier evaluations" in seed.feedback
    assert "example: a" in seed.feedback and "example: b" in seed.feedback


def test_components_are_keyed_by_name_whatever_their_extension(tmp_path: Path, db_url: str) -> None:
    folder = write(tmp_path, "components", COMPONENTS)
    summary = run_offline(folder, db_url)
    assert summary["seed_score"] == pytest.approx(-26.0)  # -|40 - 12| + two examples
    assert summary["evaluations"]["ok"] == 6
    seed = seed_of(db_url, summary["run_id"])
    assert "components: examples,system_prompt" in seed.feedback
    assert "full file names: work" in seed.feedback
    assert "example given: False" in seed.feedback  # single-task search: no example
    assert seed.metrics["shots"] == 2.0  # GEPA's side_info["scores"] are metrics


def test_a_model_sees_the_oa_log_text_and_its_diff_is_scored(tmp_path: Path, db_url: str) -> None:
    folder = write(tmp_path, "first_x_llm", FIRST_PARAMETER_X)
    reply = diff("prompt.txt", "Answer in at most 40 words.", "Answer in at most 12 words.")
    with ScriptedModelServer(default=Script(reply)) as server:
        summary = run_with_model(folder, db_url, server.api_base)
    assert summary["evaluations"]["ok"] == 2
    assert summary["best_score"] == pytest.approx(0.0)
    prompt = server.chat_requests()[0].prompt
    assert "the limit read from the prompt was 40.0" in prompt


def test_a_model_edits_one_component_and_sees_opt_state_feedback(
    tmp_path: Path, db_url: str
) -> None:
    per_example = write(tmp_path, "per_example_llm", EXAMPLE_AND_OPT_STATE)
    components = write(tmp_path, "components_llm", COMPONENTS)
    to_ten = diff("prompt.txt", "Answer in at most 40 words.", "Answer in at most 10 words.")
    to_twelve = diff(
        "system_prompt.txt", "Answer in at most 40 words.", "Answer in at most 12 words."
    )
    with ScriptedModelServer(default=Script(to_ten)) as server:
        first = run_with_model(per_example, db_url, server.api_base)
    assert first["best_score"] == pytest.approx(-2.0)  # -(|10 - 8| + |10 - 12|) / 2
    assert "OptimizationState with 0 earlier evaluations" in server.chat_requests()[0].prompt
    with ScriptedModelServer(default=Script(to_twelve)) as server:
        second = run_with_model(components, db_url, server.api_base)
    assert second["best_score"] == pytest.approx(2.0)
    assert "components: examples,system_prompt" in server.chat_requests()[0].prompt
    best = max(evaluated(db_url, second["run_id"]), key=lambda view: view.fitness)
    assert best.files["system_prompt.txt"] == "Answer in at most 12 words.\n"
    assert best.files["examples.md"] == COMPONENTS["examples.md"]


PATH_OR_TEXT = """
    import os


    def evaluate(p, extra=None):
        return 1.0 if os.path.isfile(p) else 0.0, {"got": "a path" if os.path.isfile(p) else "text"}
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # OpenEvolve's `evaluate(program_path)` convention, whatever the name.
        ({"initial_program.py": "X = 1\n", "evaluator.py": PATH_OR_TEXT}, "a path"),
        ({"task.toml": 'files = ["prompt.txt"]\n', "prompt.txt": "n 1\n"}, "a path"),
        (
            {
                "task.toml": 'files = ["prompt.txt"]\ninstances = [1]\n',
                "prompt.txt": "n 1\n",
                "evaluate.py": PATH_OR_TEXT.replace("extra=None", "example"),
            },
            "text",
        ),
        (
            {
                "task.toml": 'files = ["prompt.txt"]\ncandidate_argument = "text"\n',
                "prompt.txt": "n 1\n",
            },
            "text",
        ),
    ],
    ids=["openevolve-folder", "task-toml-default", "gepa-shaped", "task-toml-says-text"],
)
def test_the_layout_decides_whether_the_first_parameter_is_a_path_or_the_text(
    tmp_path: Path, db_url: str, files: dict[str, str], expected: str
) -> None:
    folder = write(tmp_path, "convention", {"evaluate.py": PATH_OR_TEXT} | files)
    summary = run_offline(folder, db_url, evaluations=1)
    assert f"got: {expected}" in seed_of(db_url, summary["run_id"]).feedback


# A stand-in for an installed gepa, shaped like gepa.gepa_launcher: a thread-local
# log context that `log` writes to and the caller drains.
INSTALLED_GEPA = {
    "gepa/__init__.py": "",
    "gepa/gepa_launcher.py": """
        import io
        import threading

        _tls = threading.local()


        class LogContext:
            def __init__(self):
                self._buffer = io.StringIO()

            def write(self, text):
                self._buffer.write(text)

            def drain(self):
                text = self._buffer.getvalue()
                self._buffer = io.StringIO()
                return text


        def set_log_context(ctx):
            _tls.context = ctx


        def log(*args, sep=" ", end="\\n"):
            ctx = getattr(_tls, "context", None)
            if ctx is not None:
                ctx.write(sep.join(str(a) for a in args) + end)
    """,
    "gepa/optimize_anything.py": """
        from gepa.gepa_launcher import LogContext, log, set_log_context

        INSTALLED = True
    """,
}


def test_an_installed_gepa_wins_and_its_log_is_captured(tmp_path: Path, db_url: str) -> None:
    evaluate = FIRST_PARAMETER_X["evaluate.py"].replace(
        'oa.log(f"the limit',
        'oa.log("installed:", getattr(oa, "INSTALLED", False))\n            oa.log(f"the limit',
    )
    folder = write(tmp_path, "installed", {**FIRST_PARAMETER_X, "evaluate.py": evaluate})
    (folder / "gepa").mkdir()
    for name, text in INSTALLED_GEPA.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"))
    summary = run_offline(folder, db_url, evaluations=1)
    feedback = seed_of(db_url, summary["run_id"]).feedback
    assert "installed: True" in feedback
    assert "the limit read from the prompt was 40.0" in feedback
