"""Secrets evoforge knows never leave through what a candidate emits (issue 18, point 8).

The unit tests pin what is known (credential-named variables, `.env` files in the
working folder, above it and in HOME, URL passwords, remembered values) and what
is removed (the value and its simple encodings, in text and in nested results,
short values and ordinary text untouched). The end-to-end test runs the llm
proposer against the loopback model server, with a canary `.env` in the
orchestrator's working folder and in HOME: candidates print them, report them as
metrics, feedback, artifacts and failure reasons, and the canaries appear neither in
the store's bytes nor in any prompt the model server received.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import textwrap
import traceback
from pathlib import Path
from typing import Any

import pytest
from support.llm_runs import run_llm
from support.model_server import Reply, ScriptedModelServer, SeenRequest

from evoforge import secret_values
from evoforge.evaluation import SandboxCache, evaluate_job
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.secret_values import (
    MARKER,
    Scrubber,
    known_secrets,
    remember,
    remember_url,
    scrub,
    scrub_outcome,
)
from evoforge.store.database import open_database
from evoforge.store.repository import Repository

KEY = "sk-live-4f9a2c7e1b3d5a6f8e0c"


@pytest.fixture(autouse=True)
def isolated_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts from nothing remembered, an empty working folder and HOME, and
    no credential-named variable it did not set itself; returns the working folder."""
    monkeypatch.setattr(secret_values, "_remembered", set())
    monkeypatch.setattr(secret_values, "_remembered_files", set())
    for name in list(os.environ):
        if secret_values.is_secret_name(name) or "://" in os.environ[name]:
            monkeypatch.delenv(name)
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    return work


# -- what is known ------------------------------------------------------------------
def test_credential_named_variables_and_url_passwords_are_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    monkeypatch.setenv("EVOFORGE_DB", "postgresql+psycopg://evo:db-pass%2Fword@db:5432/runs")
    monkeypatch.setenv("EVOFORGE_BROKER", "redis://:broker-secret-99@queue:6379/0")
    monkeypatch.setenv("SHORT_TOKEN", "abc123")  # too short to scrub safely
    monkeypatch.setenv("MODEL_NAME", "openai/gpt-4o-mini")  # not a credential's name
    known = known_secrets()
    assert {KEY, "hf_abcdefghijklmnop", "broker-secret-99"} <= known
    assert {"db-pass%2Fword", "db-pass/word"} <= known  # as written and decoded
    assert "abc123" not in known and "openai/gpt-4o-mini" not in known


def test_dotenv_files_in_the_working_folder_above_it_and_in_home_are_known(
    isolated_secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = isolated_secrets / "deeper"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / ".env").write_text("OPENAI_API_KEY=sk-in-the-working-folder\nDEBUG=verbose-mode\n")
    (isolated_secrets / ".env").write_text("export ANTHROPIC_API_KEY='sk-ant-one-level-up'\n")
    home = Path(os.environ["HOME"])
    (home / ".env").write_text('DATABASE_URL="postgresql://me:home-db-password@h/db"\n')
    known = known_secrets()
    assert {"sk-in-the-working-folder", "sk-ant-one-level-up", "home-db-password"} <= known
    assert "verbose-mode" not in known
    assert "sk-in-the-working-folder" not in os.environ  # read, never loaded


def test_an_edited_dotenv_is_read_again(isolated_secrets: Path) -> None:
    env = isolated_secrets / ".env"
    env.write_text("MY_TOKEN=first-token-value\n")
    assert "first-token-value" in known_secrets()
    env.write_text("MY_TOKEN=second-token-value-longer\n")
    known = known_secrets()
    assert "second-token-value-longer" in known and "first-token-value" not in known


def test_remembered_values_and_urls_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    remember("model-key-under-any-name")
    remember("short")
    remember_url("redis://:remembered-broker-pw@localhost:6379/0")
    remember_url("sqlite:////tmp/runs.db")  # no password: nothing to remember
    known = known_secrets()
    assert {"model-key-under-any-name", "remembered-broker-pw"} <= known
    assert "short" not in known


def test_a_credential_variable_naming_an_existing_file_is_not_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca-bundle.crt"
    bundle.write_text("certificates")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    assert str(bundle) not in known_secrets()


# -- what is removed ----------------------------------------------------------------
def test_a_key_inside_json_and_a_traceback_is_removed_and_the_rest_kept() -> None:
    scrubber = Scrubber({KEY})
    document = json.dumps({"config": {"api_key": KEY, "model": "gpt"}})
    assert scrubber.text(document) == json.dumps({"config": {"api_key": MARKER, "model": "gpt"}})
    try:
        {"known": 1}[f"Bearer {KEY}"]
    except KeyError:
        trace = traceback.format_exc()
    cleaned = scrubber.text(trace)
    assert KEY not in cleaned and f"KeyError: 'Bearer {MARKER}'" in cleaned
    assert cleaned.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize("prefix", ["", "a", "ab", "key=", "OPENAI_API_KEY="])
def test_base64_of_a_text_holding_the_key_is_removed_at_any_alignment(prefix: str) -> None:
    encoded = base64.b64encode(f"{prefix}{KEY}\n".encode()).decode()
    for text in (encoded, encoded.replace("+", "-").replace("/", "_")):
        cleaned = Scrubber({KEY}).text(text)
        assert MARKER in cleaned
        # Only the characters that also encode the prefix and the newline remain.
        leftover = cleaned.replace(MARKER, "")
        assert len(leftover) <= -(-len(prefix) * 4 // 3) + 8, cleaned


def test_hex_reversed_quoted_and_escaped_forms_are_removed() -> None:
    secret = 'pa"ss/wo rd-secret'
    scrubber = Scrubber({secret})
    for form in (
        secret.encode().hex(),
        secret.encode().hex().upper(),
        secret[::-1],
        "pa%22ss%2Fwo%20rd-secret",
        json.dumps(secret),
    ):
        assert MARKER in scrubber.text(f"leak: {form} end"), form
        assert scrubber.text(f"leak: {form} end").startswith("leak: ")


def test_ordinary_text_and_short_values_are_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORT_TOKEN", "abc123")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    text = "score 0.75 after 12 steps; abc123 is a fine name\n" * 3
    assert scrub(text) is text
    data = {"abc123": [1, 2.5, {"note": "abc123"}], "ok": True}
    assert scrub(data) is data


def test_nested_results_are_scrubbed_in_keys_and_values_without_unbounded_recursion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    data = {KEY: {"list": [1, f"x{KEY}x", (KEY, 2.0)], "n": 3}}
    assert scrub(data) == {MARKER: {"list": [1, f"x{MARKER}x", (MARKER, 2.0)], "n": 3}}
    shallow: Any = KEY
    for _ in range(7):  # 14 levels: within what an outcome keeps
        shallow = {"level": [shallow]}
    assert KEY not in json.dumps(scrub(shallow)) and MARKER in json.dumps(scrub(shallow))
    deep: Any = KEY
    for _ in range(5000):  # far past the recursion limit: cut, never a RecursionError
        deep = [deep]
    assert KEY not in json.dumps(scrub(deep))


def test_every_field_a_candidate_writes_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    outcome = EvaluationOutcome(
        status="ok",
        score=1.5,
        metrics={"found": KEY, KEY: 1.0, "nested": {"deeper": [KEY]}},
        instance_scores={f"case-{KEY}": 1.5},
        feedback=f"the key is {KEY}",
        artifacts={"env": f"OPENAI_API_KEY={KEY}"},
        reason=f"because {KEY}",
        stage=KEY,
        stdout=f"{KEY}\n{base64.b64encode(KEY.encode()).decode()}\n",
        stderr=KEY.encode().hex(),
        duration_s=0.5,
        host="worker-1",
        sandbox="process",
    )
    cleaned = scrub_outcome(outcome)
    assert KEY not in cleaned.model_dump_json()
    assert KEY.encode().hex() not in cleaned.model_dump_json()
    assert cleaned.metrics == {"found": MARKER, MARKER: 1.0, "nested": {"deeper": [MARKER]}}
    assert cleaned.instance_scores == {f"case-{MARKER}": 1.5}
    assert (cleaned.score, cleaned.duration_s, cleaned.host) == (1.5, 0.5, "worker-1")
    clean = EvaluationOutcome(status="ok", score=1.0, stdout="nothing to hide")
    assert scrub_outcome(clean) is clean


def test_an_outcome_that_cannot_be_checked_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Scrubber:
        raise RuntimeError(f"broken while reading {KEY}")

    monkeypatch.setattr(secret_values, "current_scrubber", broken)
    outcome = scrub_outcome(EvaluationOutcome(status="ok", score=1.0, stdout=KEY))
    assert outcome.status == "crashed" and outcome.stdout == ""
    assert "could not be checked for secrets" in outcome.reason and KEY not in outcome.reason


def test_a_platform_fault_holding_a_key_is_scrubbed_by_evaluate_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    class LeakySandbox:
        def run(self, job: EvaluationJob) -> EvaluationOutcome:
            raise ConnectionError(f"could not reach https://user:{KEY}@api.example.com")

    sandboxes = SandboxCache({})
    sandboxes._built["leaky"] = LeakySandbox()  # type: ignore[assignment]
    job = EvaluationJob(
        run_id="r", candidate_id="c", task_name="t", files={}, primary="p.py",
        evaluate="e.py:evaluate", sandbox="leaky",
    )  # fmt: skip
    outcome = evaluate_job(job, sandboxes)
    assert outcome.status == "crashed"
    assert MARKER in outcome.reason and MARKER in outcome.stderr
    assert KEY not in outcome.model_dump_json()


# -- end to end: canary .env files, a real run, the loopback model server -----------
PROGRAM = """\
def helper():
    return 0


# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END
"""

EVALUATE = """\
from evoforge.result import EvaluationResult


def evaluate(program_path, instances):
    scope = {}
    exec(open(program_path).read(), scope)
    x = float(scope["X"])
    told = scope["leak"](instances) if "leak" in scope else {}
    scores = {item["id"]: -abs(x - item["target"]) for item in instances}
    return EvaluationResult(
        score=sum(scores.values()) / len(scores),
        instance_scores=scores,
        metrics={"x": x, **told.get("metrics", {})},
        feedback=told.get("feedback", "X should move towards the target"),
        artifacts=told.get("artifacts", {}),
    )
"""

TASK_TOML = """\
files = ["program.py"]
objective = "Move X to the hidden target."
instances = [{ id = "train-1", target = 3.0 }]
validation_instances = [{ id = "val-1", target = 3.5 }]
"""

LEAK = """\
def leak(instances):
    import base64, sys

    values = []
    for path in ({paths}):
        try:
            text = open(path).read()
        except OSError as exc:
            text = "unreadable: " + str(exc)
        print(text)
        values += [line.partition("=")[2].strip() for line in text.splitlines() if "=" in line]
    # The same keys, as a candidate the sandbox shows no file would get them elsewhere.
    values += [{pieces}]
    for value in values:
        print("key:", value)
        print("key:", value, file=sys.stderr)
        print(base64.b64encode(("key=" + value).encode()).decode())
        print(value.encode().hex(), value[::-1])
    if FAIL or any(item["id"].startswith("val") for item in instances):
        raise RuntimeError("leaked " + " ".join(values))
    return {{
        "metrics": {{value: value for value in values}},
        "feedback": "keys: " + ", ".join(values),
        "artifacts": {{
            "keys": " ".join(values),
            "b64": base64.b64encode(" ".join(values).encode()).decode(),
        }},
    }}
"""


def _pieces(value: str) -> str:
    """The value as two literals joined at run time: the program's text never holds it."""
    middle = len(value) // 2
    return f"{value[:middle]!r} + {value[middle:]!r}"


def _program(x: float, leak: str = "", fail: bool = False) -> str:
    block = f"X = {x}\nFAIL = {fail}\n\n{leak}" if leak else f"X = {x}"
    return PROGRAM.replace("X = 1.0", block)


def _rewrite(program: str) -> Reply:
    return Reply(f"A bolder version.\n\n### program.py\n```python\n{program}```\n")


def _stored_bytes(db_url: str) -> bytes:
    database = db_url.removeprefix("sqlite:///")
    return b"".join(
        Path(path).read_bytes() for path in (database, database + "-wal") if os.path.exists(path)
    )


@pytest.mark.slow
def test_canary_dotenv_keys_reach_neither_the_store_nor_any_prompt(
    tmp_path: Path, isolated_secrets: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, home = isolated_secrets, Path(os.environ["HOME"])
    canaries = {
        "OPENAI_API_KEY": "sk-canary-work-" + secrets.token_hex(12),
        "ANTHROPIC_API_KEY": "sk-ant-canary-home-" + secrets.token_hex(12),
        "EVOFORGE_CANARY_PASSWORD": "canary-env-password-" + secrets.token_hex(12),
    }
    (work / ".env").write_text(f"OPENAI_API_KEY={canaries['OPENAI_API_KEY']}\n")
    (home / ".env").write_text(f"ANTHROPIC_API_KEY={canaries['ANTHROPIC_API_KEY']}\n")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):  # restored (absent) afterwards:
        monkeypatch.setenv(name, "placeholder")  # the llm proposer loads ./.env
        monkeypatch.delenv(name)
    # Known only from the orchestrator's environment, which no candidate sees.
    monkeypatch.setenv("EVOFORGE_CANARY_PASSWORD", canaries["EVOFORGE_CANARY_PASSWORD"])

    task = tmp_path / "task"
    task.mkdir()
    (task / "program.py").write_text(PROGRAM)
    (task / "evaluate.py").write_text(EVALUATE)
    (task / "task.toml").write_text(TASK_TOML)
    leak = LEAK.format(
        paths=", ".join(repr(str(folder / ".env")) for folder in (work, home)),
        pieces=", ".join(_pieces(value) for value in canaries.values()),
    )
    answers = iter(
        [
            _rewrite(_program(2.0, leak)),  # ok on training, fails on validation
            _rewrite(_program(2.5, leak, fail=True)),  # fails, the keys in its reason
        ]
    )
    plain = iter(range(1, 100))

    def responder(request: SeenRequest) -> Reply:
        return next(answers, None) or _rewrite(_program(1.0 + next(plain) / 100))

    with ScriptedModelServer(default=responder) as server:
        outcome = run_llm(task, db_url, server.api_base, evaluations=6, mode_weights={"full": 1.0})
        requests = server.chat_requests()

    assert outcome.summary["status"] == "finished"
    assert outcome.summary["evaluations"]["total"] == 6
    # The working folder's key is evoforge's model key: loaded from ./.env and sent.
    sent = {r.headers.get("authorization") for r in requests}
    assert sent == {f"Bearer {canaries['OPENAI_API_KEY']}"}

    stored = _stored_bytes(db_url)
    prompts = [json.dumps(r.body) for r in requests]
    for name, value in canaries.items():
        forms = {value, value.encode().hex(), value[::-1]}
        forms |= {base64.b64encode(f"{p}{value}".encode()).decode()[4:-4] for p in ("key=", "")}
        for form in forms:
            assert form.encode() not in stored, f"{name} ({form}) is in the store"
            assert not any(form in prompt for prompt in prompts), f"{name} reached a prompt"

    # The leaks happened and were scrubbed: markers where the keys were.
    repo = Repository(open_database(db_url))
    evaluated = {v.id: v for v in repo.evaluated_candidates(outcome.run_id)}
    leaker = next(v for v in evaluated.values() if "FAIL = False" in v.files["program.py"])
    failer = next(v for v in evaluated.values() if "FAIL = True" in v.files["program.py"])
    kept = repo.stored_outcome(leaker.id)
    assert kept is not None and kept.status == "ok"
    assert kept.stdout.count(MARKER) >= 2 * len(canaries), kept.stdout[-2000:]
    assert MARKER in kept.stderr and MARKER in kept.feedback and MARKER in kept.metrics
    assert MARKER in kept.artifacts["keys"] and MARKER in kept.artifacts["b64"]
    failed = repo.stored_outcome(failer.id)
    assert failed is not None and failed.status == "failed" and MARKER in failed.reason
    validation = repo.split_scores(outcome.run_id)[leaker.id]["validation"]
    assert validation["status"] == "failed" and MARKER in validation["reason"]
    assert any(MARKER in r.prompt for r in requests), "a later prompt quotes the leaker"


def test_the_leak_program_is_valid_python() -> None:
    """The candidate above must compile, or the end-to-end test would prove nothing."""
    leak = LEAK.format(paths="'/nonexistent/.env',", pieces=_pieces("abcdefghijkl"))
    compile(textwrap.dedent(_program(2.0, leak)), "program.py", "exec")
