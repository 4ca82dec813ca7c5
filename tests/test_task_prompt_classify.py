"""The prompt_classify task against a loopback OpenAI-compatible server (litellm is real).

The task model here is a deterministic fake: it labels a message by keywords, but
only "knows" a label's keywords when the system prompt itself mentions them (a prompt
that describes what `billing` covers teaches it billing). So the plain seed, which only
lists the labels, answers `other` to everything, and a prompt with label hints scores
higher: the property prompt evolution relies on.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from support.model_server import Reply, Script, ScriptedModelServer, SeenRequest

from evoforge.api import run_task
from evoforge.evaluators.prompt_classify import dataset
from evoforge.evaluators.prompt_classify.evaluate import evaluate, smoke
from evoforge.plugin_manager import registry
from evoforge.store.database import open_database
from evoforge.store.repository import Repository

KEYWORDS: dict[str, tuple[str, ...]] = {
    "billing": ("charg", "refund", "invoice", "payment", "card", "price", "receipt", "vat"),
    "bug": ("crash", "error", "does nothing", "blank", "unreadable", "closes", "deleted"),
    "feature_request": ("would be great", "please add", "wish", "would love", "plans for"),
    "account": ("log in", "password", "profile", "email address", "username", "ownership"),
}
"""Keyword stems per label; `other` is what the fake answers when nothing matches."""

HINTED = """\
You classify messages sent to the help desk of a software company.
Answer with exactly one of these labels: billing, bug, feature_request, account, other.
- billing: charges, refunds, invoices, payment, card problems, price, receipts, VAT.
- bug: a crash, an error, a button that does nothing, blank or unreadable pages.
- feature_request: "would be great", "please add", "I wish", "would love", "plans for".
- account: log in, password, profile, email address, username, ownership.
- other: anything else.
Reply with the label only.
"""

BILLING_ONLY = """\
Labels: billing, bug, feature_request, account, other.
billing covers charges, refunds, invoices and every payment by card.
Reply with the label only.
"""


def fake_label(system: str, message: str) -> str:
    """The label the fake model gives `message` under the system prompt `system`."""
    system, message = system.lower(), message.lower()
    best, hits = "other", 0
    for label, stems in KEYWORDS.items():
        if not any(stem in system for stem in stems):
            continue  # the prompt never taught this label
        count = sum(stem in message for stem in stems)
        if count > hits:
            best, hits = label, count
    return best


def task_model(request: SeenRequest) -> Reply:
    messages = request.body["messages"]
    label = fake_label(messages[0]["content"], messages[-1]["content"])
    return Reply(f"{label.capitalize()}.")  # decorated, as models do: normalised away


def expected_accuracy(prompt: str, instances: list[dict[str, str]]) -> float:
    right = sum(fake_label(prompt, item["text"]) == item["label"] for item in instances)
    return right / len(instances)


@pytest.fixture(scope="module")
def server() -> Any:
    with ScriptedModelServer(models={"task-model": task_model}) as running:
        yield running


@pytest.fixture
def task_env(server: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"EVOFORGE_TASK_MODEL": "openai/task-model", "EVOFORGE_TASK_API_BASE": server.api_base}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def seed_prompt() -> str:
    return registry().tasks()["prompt_classify"].files[0].seed


def test_the_task_is_registered_with_the_network_and_three_disjoint_splits() -> None:
    task = registry().tasks()["prompt_classify"]
    assert task.resources.network is True
    assert [f.name for f in task.files] == ["prompt.txt"]
    assert [len(task.instances), len(task.validation_instances), len(task.test_instances)] == [
        30,
        15,
        15,
    ]
    texts = [i["text"] for s in ("train", "validation", "test") for i in task.split_instances(s)]
    assert len(set(texts)) == 60
    assert set(dataset.label_balance("train").values()) == {6}
    assert [b.name for b in task.baselines] == ["plain"]
    assert task.baselines[0].files["prompt.txt"] == seed_prompt()
    assert task.baselines[0].scores == {} and task.reference_score is None


def test_evaluation_is_deterministic_and_scores_every_instance_by_exact_match(
    task_env: dict[str, str],
) -> None:
    train = dataset.split("train")
    started = time.perf_counter()
    first = evaluate(BILLING_ONLY, train)
    elapsed = time.perf_counter() - started
    second = evaluate(BILLING_ONLY, train)
    assert first.valid, first.reason
    assert first.instance_scores == second.instance_scores
    assert set(first.instance_scores) == {item["id"] for item in train}
    for item in train:
        right = fake_label(BILLING_ONLY, item["text"]) == item["label"]
        assert first.instance_scores[item["id"]] == (1.0 if right else 0.0)
    assert first.score == pytest.approx(expected_accuracy(BILLING_ONLY, train))
    assert first.metrics["accuracy_billing"] > first.metrics["accuracy_bug"] == 0.0
    assert "misclassified messages:" in first.feedback
    assert "per label (correct/total): billing" in first.feedback
    print(f"one training-set evaluation in-process: {elapsed:.2f} s")


def test_a_prompt_with_label_hints_beats_the_plain_seed(task_env: dict[str, str]) -> None:
    train = dataset.split("train")
    plain = evaluate(seed_prompt(), train)
    hinted = evaluate(HINTED, train)
    assert plain.score == pytest.approx(0.2)  # the fake answers `other` to everything
    assert hinted.score > 0.6 > plain.score
    assert "feature_request 0/6" in plain.feedback


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("", "the prompt is empty"),
        ("   \n", "the prompt is empty"),
        ("Answer billing, bug, account or another label.", "does not mention the label(s) "),
        ("billing bug feature_request account other " + "x" * 4000, "the limit is 4,000"),
    ],
)
def test_smoke_rejects_a_structurally_unusable_prompt(prompt: str, reason: str) -> None:
    result = smoke(prompt)
    assert result.valid is False
    assert reason in result.reason
    if "mention" in reason:
        assert result.reason.startswith(
            "the prompt does not mention the label(s) feature_request, other;"
        )


def test_smoke_accepts_the_seed_without_calling_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOFORGE_TASK_MODEL", raising=False)
    assert smoke(seed_prompt()).valid is True


def test_a_missing_task_model_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOFORGE_TASK_MODEL", raising=False)
    result = evaluate(seed_prompt(), dataset.split("train"))
    assert result.valid is False
    assert "\n" not in result.reason
    assert "EVOFORGE_TASK_MODEL is not set" in result.reason
    assert "--task-env EVOFORGE_TASK_MODEL=" in result.reason


def test_an_unreachable_api_base_makes_the_evaluation_invalid_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVOFORGE_TASK_MODEL", "openai/task-model")
    monkeypatch.setenv("EVOFORGE_TASK_API_BASE", "http://127.0.0.1:9/v1")  # discard: refused
    monkeypatch.setenv("EVOFORGE_TASK_RETRIES", "0")
    result = evaluate(seed_prompt(), dataset.split("validation"))
    assert result.valid is False
    assert "every call to the task model openai/task-model at http://127.0.0.1:9/v1" in (
        result.reason
    )
    assert "(val-01): InternalServerError: OpenAIException - Connection error" in result.reason


def test_failed_calls_score_zero_and_are_reported(
    task_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = Script(Reply(status=400), Reply("billing"))  # only the first call fails
    with ScriptedModelServer(models={"task-model": refusing}) as flaky:
        monkeypatch.setenv("EVOFORGE_TASK_API_BASE", flaky.api_base)
        monkeypatch.setenv("EVOFORGE_TASK_WORKERS", "1")  # so val-01 is the first call
        result = evaluate(seed_prompt(), dataset.split("validation"))
    assert result.valid, result.reason
    assert result.metrics["failed_calls"] == 1.0
    assert result.instance_scores["val-01"] == 0.0
    assert "failed model calls (scored 0): 1; first: val-01: BadRequestError" in result.feedback


def _seed_outcome(url: str, run_id: str) -> Any:
    repo = Repository(open_database(url))
    (seed,) = [c for c in repo.evaluated_candidates(run_id) if c.kind == "seed"]
    return repo.stored_outcome(seed.id)


def test_an_offline_run_stores_the_seed_per_instance_scores(
    tmp_path: Path, server: ScriptedModelServer
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    env = {"EVOFORGE_TASK_MODEL": "openai/task-model", "EVOFORGE_TASK_API_BASE": server.api_base}
    outcome = run_task("prompt_classify", db=url, max_evaluations=4, seed=1, task_env=env)
    stored = _seed_outcome(url, outcome.run_id)
    assert stored.status == "ok", stored.reason
    assert set(stored.instance_scores) == {item["id"] for item in dataset.split("train")}
    assert stored.score == pytest.approx(0.2)
    # The run ends by scoring the seed on the held-out splits, through the same model.
    (splits,) = Repository(open_database(url)).split_scores(outcome.run_id).values()
    assert set(splits["validation"]["instance_scores"]) == {f"val-{i:02d}" for i in range(1, 16)}
    assert splits["test"]["score"] == pytest.approx(0.2)


def _rewrite(request: SeenRequest) -> Reply:
    """The proposer model: a full rewrite of prompt.txt adding the label hints."""
    assert "prompt.txt" in request.prompt
    return Reply(f"Define every label.\n\n### prompt.txt\n```text\n{HINTED}```\n")


def test_an_llm_run_rewrites_the_prompt_and_beats_the_seed(tmp_path: Path) -> None:
    # Without the held-out splits: each sandboxed evaluation pays seconds to import
    # litellm, and the offline run above already covers split scoring for this task.
    task = registry().tasks()["prompt_classify"]
    task = task.model_copy(update={"validation_instances": None, "test_instances": None})
    url = f"sqlite:///{tmp_path}/runs.db"
    models = {"task-model": task_model, "proposer-model": _rewrite}
    with ScriptedModelServer(models=models) as both:
        outcome = run_task(
            task,
            db=url,
            max_evaluations=2,
            seed=1,
            strategy="greedy",
            evaluation_slots=1,
            proposal_slots=1,
            proposer="llm",
            proposer_options={
                "models": [{"model": "openai/proposer-model", "api_base": both.api_base}],
                "mode_weights": {"full": 1.0},
                "backoff_s": 0.01,
            },
            max_fruitless_proposals=5,
            task_env={
                "EVOFORGE_TASK_MODEL": "openai/task-model",
                "EVOFORGE_TASK_API_BASE": both.api_base,
            },
        )
        proposer_prompt = both.chat_requests("proposer-model")[0].prompt
    seed_score = _seed_outcome(url, outcome.run_id).score
    assert seed_score == pytest.approx(0.2)
    assert outcome.best_score == pytest.approx(expected_accuracy(HINTED, dataset.split("train")))
    assert outcome.best_score > seed_score
    assert outcome.best_files["prompt.txt"] == HINTED
    # The seed's feedback (misclassified messages) reached the proposer.
    assert "misclassified messages:" in proposer_prompt
    assert re.search(r"feature_request 0/6", proposer_prompt)
