"""Real runs with the llm proposer; litellm talks HTTP to a scripted loopback server.

Each scenario the issue names ends with the right proposal status and reason in the
store, and the run completes its budget.
"""

from __future__ import annotations

import pytest
from support.llm_runs import diff_to, good_diff, rewrite_to, run_llm, stored_calls
from support.model_server import Reply, Script, ScriptedModelServer

from evoforge.proposals import ProposerUnavailable


def test_a_good_diff_becomes_a_child_that_improves_the_score(toy_task, db_url, store) -> None:
    with ScriptedModelServer(default=good_diff) as server:
        outcome = run_llm(toy_task, db_url, server.api_base, evaluations=3)
    summary = outcome.summary
    assert summary["evaluations"]["total"] == 3
    assert summary["best_score"] > summary["seed_score"]
    proposals = store().list_proposals(outcome.run_id)
    accepted = [p for p in proposals if p["status"] == "accepted"]
    assert [p["kind"] for p in accepted] == ["diff", "diff"]
    # Proposals run ahead of evaluations, so a parent may be asked twice: duplicates
    # are recorded as such, never evaluated again.
    assert {p["status"] for p in proposals} <= {"accepted", "duplicate"}
    assert "X = 2.5" in outcome.best_files["program.py"]
    # The evaluator's side information and the task's objective reach the model.
    first = server.chat_requests()[0]
    assert "X should move towards the target" in first.prompt
    assert "Move X to the hidden target." in first.prompt


def test_a_search_text_that_does_not_match_is_rejected_and_the_run_goes_on(
    toy_task, db_url, store
) -> None:
    script = Script(diff_to("2.0", old="7.5"), diff_to("2.0"))
    with ScriptedModelServer(default=script) as server:
        outcome = run_llm(toy_task, db_url, server.api_base)
    proposals = store().list_proposals(outcome.run_id)
    assert [p["status"] for p in proposals] == ["rejected", "accepted"]
    assert "does not match" in proposals[0]["reason"]
    assert proposals[0]["candidate_id"] is None
    assert outcome.summary["evaluations"]["total"] == 2
    # The next prompt tells the model what went wrong.
    assert "does not match" in server.chat_requests()[1].prompt


def test_an_edit_outside_the_evolve_block_is_rejected(toy_task, db_url, store) -> None:
    outside = "<<<<<<< SEARCH program.py\n    return 0\n=======\n    return 1\n>>>>>>> REPLACE\n"
    with ScriptedModelServer(default=Script(outside, diff_to("2.0"))) as server:
        outcome = run_llm(toy_task, db_url, server.api_base)
    first, second = store().list_proposals(outcome.run_id)
    assert first["status"] == "rejected"
    assert "outside the evolve blocks" in first["reason"]
    assert second["status"] == "accepted"
    assert "return 0" in outcome.best_files["program.py"]


def test_a_full_rewrite_replaces_the_evolve_block(toy_task, db_url, store) -> None:
    with ScriptedModelServer(default=Script(rewrite_to("2.75"))) as server:
        outcome = run_llm(toy_task, db_url, server.api_base, mode_weights={"full": 1.0})
    (proposal,) = store().list_proposals(outcome.run_id)
    assert (proposal["status"], proposal["kind"]) == ("accepted", "rewrite")
    assert outcome.best_score == pytest.approx(-0.25)
    assert "Rewrite the evolvable parts" in server.chat_requests()[0].prompt


def test_a_crossover_child_records_both_parents(toy_task, db_url, store) -> None:
    values = (f"{2.0 + i / 100:.2f}" for i in range(1000))

    def answer(request):
        return Reply(rewrite_to(next(values)))

    with ScriptedModelServer(default=answer) as server:
        outcome = run_llm(
            toy_task, db_url, server.api_base, evaluations=6, mode_weights={"crossover": 1.0}
        )
    repo = store()
    kinds = [p["kind"] for p in repo.list_proposals(outcome.run_id)]
    # The first proposal has no second parent yet and falls back to a rewrite.
    assert kinds[0] == "rewrite" and "crossover" in kinds[1:]
    crossed = [p for p in repo.list_proposals(outcome.run_id) if p["kind"] == "crossover"][0]
    detail = repo.candidate_detail(crossed["candidate_id"])
    kinds_of_parents = {edge["kind"] for edge in detail["parents"]}
    assert {"parent", "crossover"} <= kinds_of_parents
    assert any("# Parent B" in r.prompt for r in server.chat_requests())


def test_an_empty_answer_is_rejected(toy_task, db_url, store) -> None:
    with ScriptedModelServer(default=Script("", diff_to("2.0"))) as server:
        outcome = run_llm(toy_task, db_url, server.api_base)
    first, second = store().list_proposals(outcome.run_id)
    assert first["status"] == "rejected"
    assert "empty answer" in first["reason"]
    assert second["status"] == "accepted"


def test_http_429_is_retried_after_a_backoff_and_both_calls_are_kept(
    toy_task, db_url, store
) -> None:
    script = Script(Reply(status=429, headers={"Retry-After": "0"}), diff_to("2.0"))
    with ScriptedModelServer(default=script) as server:
        outcome = run_llm(toy_task, db_url, server.api_base, evaluations=2)
    (proposal,) = store().list_proposals(outcome.run_id)
    assert proposal["status"] == "accepted"
    calls = stored_calls(db_url, outcome.run_id)
    assert len(calls) == 2
    assert "429" in calls[0]["error"] and calls[1]["error"] == ""
    assert {c["proposal_id"] for c in calls} == {proposal["id"]}
    assert calls[1]["candidate_id"] == proposal["candidate_id"]


def test_http_500_on_the_first_model_falls_back_to_the_second(toy_task, db_url, store) -> None:
    models = {"openai/primary": Script(Reply(status=500)), "openai/backup": good_diff}
    with ScriptedModelServer(models=models) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            models=[
                {"model": "openai/primary", "api_base": server.api_base, "weight": 1.0},
                {"model": "openai/backup", "api_base": server.api_base, "weight": 0.0},
            ],
            retries=1,
        )
    proposals = store().list_proposals(outcome.run_id)
    proposal = proposals[0]
    assert proposal["status"] == "accepted"
    calls = stored_calls(db_url, outcome.run_id)
    assert [(c["model"], "500" in c["error"]) for c in calls] == [
        ("openai/primary", True),
        ("openai/primary", True),
        ("openai/backup", False),
    ]
    assert (
        "by openai/backup"
        in store().candidate_detail(proposal["candidate_id"])["candidate"]["note"]
    )


def test_a_response_after_the_timeout_fails_the_proposal_and_the_run_goes_on(
    toy_task, db_url, store
) -> None:
    script = Script(Reply(diff_to("2.0"), delay_s=2.0), diff_to("2.0"))
    with ScriptedModelServer(default=script) as server:
        outcome = run_llm(toy_task, db_url, server.api_base, timeout_s=0.5)
    first, second = store().list_proposals(outcome.run_id)
    assert first["status"] == "failed"
    assert "timed out after 0.5 s" in first["reason"]
    assert second["status"] == "accepted"
    assert outcome.summary["evaluations"]["total"] == 2


def test_a_refused_key_stops_the_run_with_the_fix(toy_task, db_url, store) -> None:
    with (
        ScriptedModelServer(default=Script(Reply(status=401))) as server,
        pytest.raises(ProposerUnavailable, match="authentication failed.*keys"),
    ):
        run_llm(toy_task, db_url, server.api_base)
    (run,) = store().list_runs()
    assert run["status"] == "failed"
    (proposal,) = store().list_proposals(run["run_id"])
    assert proposal["status"] == "failed"
