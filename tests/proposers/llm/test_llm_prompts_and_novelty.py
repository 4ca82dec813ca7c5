"""Prompts a task can override, near-duplicate rejection, and the model bandit."""

from __future__ import annotations

import random

import pytest
from support.llm_runs import diff_to, run_llm, stored_calls
from support.model_server import Script, ScriptedModelServer

from evoforge.config import ConfigError
from evoforge.plugins.proposers.llm.bandit import ModelBandit


def test_a_task_folder_overrides_a_prompt_template(toy_task, db_url) -> None:
    (toy_task / "prompts").mkdir()
    (toy_task / "prompts" / "diff.txt").write_text(
        "HOUSE RULES for $metric.\n$files\nAnswer with SEARCH/REPLACE blocks.\n"
    )
    with ScriptedModelServer(default=Script(diff_to("2.0"))) as server:
        run_llm(toy_task, db_url, server.api_base)
    user = server.chat_requests()[0].body["messages"][-1]["content"]
    assert user.startswith("HOUSE RULES for score.")
    assert "X = 1.0" in user
    # The system template was not overridden: the default still carries the objective.
    assert (
        "Move X to the hidden target." in server.chat_requests()[0].body["messages"][0]["content"]
    )


def test_a_template_with_an_unknown_placeholder_is_refused_before_the_run(toy_task, db_url) -> None:
    (toy_task / "prompts").mkdir()
    (toy_task / "prompts" / "full.txt").write_text("$files\n$parnet_feedback\n")
    with pytest.raises(ConfigError, match=r"\$parnet_feedback.*known: \$objective"):
        run_llm(toy_task, db_url, "http://127.0.0.1:9/v1")


def _embedding(text: str) -> list[float]:
    """X = 2.9 points one way, everything else (X near 1) the other."""
    return [0.0, 1.0] if "X = 2.9" in text else [1.0, 0.01]


def test_a_near_duplicate_is_asked_for_again_then_accepted(toy_task, db_url, store) -> None:
    script = Script(diff_to("1.0001"), diff_to("2.9"))
    with ScriptedModelServer(default=script, embed=_embedding) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            novelty={
                "embedding_model": "openai/test-embedder",
                "api_base": server.api_base,
                "threshold": 0.95,
                "max_reasks": 2,
            },
        )
        second = server.chat_requests()[1]
    (proposal,) = store().list_proposals(outcome.run_id)
    assert proposal["status"] == "accepted"
    assert "X = 2.9" in outcome.best_files["program.py"]
    assert "nearly identical" in second.body["messages"][-1]["content"]
    models = [c["model"] for c in stored_calls(db_url, outcome.run_id)]
    assert models == [
        "openai/test-model",
        "openai/test-embedder",
        "openai/test-model",
        "openai/test-embedder",
    ]


def test_a_near_duplicate_is_rejected_after_the_last_reask(toy_task, db_url, store) -> None:
    script = Script(diff_to("1.0001"), diff_to("1.0002"), diff_to("2.9"))
    with ScriptedModelServer(default=script, embed=_embedding) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            novelty={
                "embedding_model": "openai/test-embedder",
                "api_base": server.api_base,
                "max_reasks": 1,
            },
        )
    first = store().list_proposals(outcome.run_id)[0]
    assert first["status"] == "rejected"
    assert "near-duplicate" in first["reason"] and "after 1 re-ask" in first["reason"]


def test_the_bandit_shifts_choice_to_the_model_improving_most_per_dollar() -> None:
    bandit = ModelBandit(["cheap", "dear"], exploration=0.5)
    for _ in range(20):
        bandit.record("cheap", improved=True, cost_usd=0.001)
        bandit.record("dear", improved=True, cost_usd=0.05)
    weights = {"cheap": 1.0, "dear": 1.0}
    rng = random.Random(0)
    assert [bandit.choose(weights, rng) for _ in range(5)] == ["cheap"] * 5
    # A model never tried is tried first, whatever the others have done.
    bandit.arms["new"] = type(bandit.arms["cheap"])()
    assert bandit.choose({**weights, "new": 0.1}, rng) == "new"


def test_the_bandit_prefers_a_model_that_improves_when_prices_are_equal() -> None:
    bandit = ModelBandit(["good", "bad"], exploration=0.2)
    for index in range(30):
        bandit.record("good", improved=index % 2 == 0, cost_usd=0.01)
        bandit.record("bad", improved=index % 10 == 0, cost_usd=0.01)
    assert bandit.choose({"good": 1.0, "bad": 1.0}, random.Random(1)) == "good"


def test_a_bandit_run_asks_the_improving_model_more_often(toy_task, db_url) -> None:
    from support.llm_runs import current_x, good_diff
    from support.model_server import Reply

    def worse(request):
        old = current_x(request)
        return Reply(diff_to(repr(float(old) - 0.37), old))

    models = {"openai/good": good_diff, "openai/worse": worse}
    with ScriptedModelServer(models=models) as server:
        run_llm(
            toy_task,
            db_url,
            server.api_base,
            evaluations=16,
            bandit=True,
            bandit_exploration=0.3,
            models=[
                {
                    "model": f"openai/{name}",
                    "api_base": server.api_base,
                    "weight": 1.0,
                    "input_cost_per_million": 1.0,
                    "output_cost_per_million": 1.0,
                }
                for name in ("good", "worse")
            ],  # fmt: skip
        )
        good = len(server.chat_requests("good"))
        bad = len(server.chat_requests("worse"))
    assert good > 2 * bad >= 2


def test_a_prompt_shows_every_file_inspirations_with_scores_and_failure_reasons() -> None:
    from evoforge.plugins.proposers.llm.prompts import PromptContext, load_templates, render
    from evoforge.proposals import CandidateView, ProposalRequest, RejectedAttempt
    from evoforge.task import ArtifactFile, Task

    task = Task(
        name="two_files",
        objective="Schedule faster.",
        files=[
            ArtifactFile(
                name="policy.py", seed="# EVOLVE-BLOCK-START\nK = 1\n# EVOLVE-BLOCK-END\n"
            ),
            ArtifactFile(name="params.json", seed='{"window": 4}\n'),
        ],
        evaluate="x:evaluate",
    )

    def view(cid: str, score: float | None, status: str = "ok", **extra) -> CandidateView:
        return CandidateView(
            id=cid, files=task.seed_files(), score=score, fitness=score or 0.0, status=status,
            **extra,
        )  # fmt: skip

    request = ProposalRequest(
        task=task,
        parent=view("parent", 1.5, feedback="case 7 missed its deadline", log_tail="warn: slow"),
        inspirations=[view("insp1", 2.25, metrics={"latency": 0.5})],
        recent_failures=[view("bad", None, "timeout", reason="timed out after 60 s")],
        recent_rejections=[RejectedAttempt("diff", "SEARCH block 1 does not match")],
    )
    context = PromptContext(request, None, inspirations=3, failures=3, feedback_chars=2000)
    text = render(load_templates(task)["diff"], context)
    assert "### params.json" in text and "### policy.py" in text
    assert "case 7 missed its deadline" in text and "warn: slow" in text
    assert "Version insp1: score 2.25" in text and "latency=0.5" in text
    assert "timed out after 60 s" in text and "SEARCH block 1 does not match" in text
    assert "<<<<<<< SEARCH policy.py" in text  # the format names the first file
    system = render(load_templates(task)["system"], context)
    assert "Schedule faster." in system and "higher is better" in system
