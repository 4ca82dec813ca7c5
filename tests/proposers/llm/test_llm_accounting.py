"""Costs, tokens, the cost budget and API keys: what a user pays and what is stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli, run_piped
from support.llm_runs import good_diff, run_llm, stored_calls
from support.model_server import Reply, Script, ScriptedModelServer

from evoforge.config import ConfigError
from evoforge.plugins.proposers.llm.calls import litellm_module


def priced(request) -> Reply:
    reply = good_diff(request)
    reply.prompt_tokens, reply.completion_tokens = 1000, 200
    return reply


def test_costs_come_from_litellms_price_table(toy_task, db_url) -> None:
    with ScriptedModelServer(default=priced) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            models=[{"model": "openai/gpt-4o-mini", "api_base": server.api_base}],
        )
    prices = litellm_module().model_cost["gpt-4o-mini"]
    expected = 1000 * prices["input_cost_per_token"] + 200 * prices["output_cost_per_token"]
    calls = stored_calls(db_url, outcome.run_id)
    assert calls and all(c["cost_usd"] == pytest.approx(expected) for c in calls)
    assert (calls[0]["tokens_in"], calls[0]["tokens_out"]) == (1000, 200)


def test_show_reports_cost_and_tokens_equal_to_the_stored_calls(toy_task, db_url) -> None:
    models = {
        "openai/gpt-4o-mini": Script(Reply(status=429), priced, priced, priced),
        "openai/local": priced,
    }
    with ScriptedModelServer(models=models) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            evaluations=5,
            models=[
                {"model": "openai/gpt-4o-mini", "api_base": server.api_base, "weight": 1},
                {
                    "model": "openai/local",
                    "api_base": server.api_base,
                    "weight": 1,
                    "input_cost_per_million": 2.0,
                    "output_cost_per_million": 8.0,
                },
            ],
        )
    shown = cli_json("show", outcome.run_id, "--db", db_url)
    calls = stored_calls(db_url, outcome.run_id)
    spend = shown["spend"]
    assert spend["spend_usd"] == pytest.approx(sum(c["cost_usd"] for c in calls))
    assert shown["spend_usd"] == pytest.approx(spend["spend_usd"])
    assert spend["tokens_in"] == sum(c["tokens_in"] for c in calls)
    assert spend["tokens_out"] == sum(c["tokens_out"] for c in calls)
    assert spend["errors"] == sum(1 for c in calls if c["error"]) >= 1
    by_model = {row["model"]: row for row in spend["models"]}
    assert set(by_model) == {"openai/gpt-4o-mini", "openai/local"}
    for model, row in by_model.items():
        mine = [c for c in calls if c["model"] == model]
        assert row["calls"] == len(mine)
        assert row["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in mine))
        assert row["tokens_in"] == sum(c["tokens_in"] for c in mine)
    assert spend["improvements"] >= 1
    assert spend["cost_per_improvement"] == pytest.approx(
        spend["spend_usd"] / spend["improvements"]
    )
    text = run_cli("show", outcome.run_id, "--db", db_url).stdout
    assert "proposals and spend" in text and "openai/local" in text
    piped = run_piped("show", outcome.run_id, "--db", db_url).stdout
    assert "…" not in piped  # neither `child…` nor `$0.00…`: every header and cost whole
    header = next(line for line in piped.splitlines() if "model" in line and "calls" in line)
    assert "children" in header and "$/improvement" in header
    assert f"${spend['spend_usd']:.4f}" in piped


def test_max_cost_stops_the_run_cleanly_once_reached(toy_task, db_url) -> None:
    with ScriptedModelServer(default=priced) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            evaluations=30,
            max_cost_usd=2.5,
            models=[
                {
                    "model": "openai/dear",
                    "api_base": server.api_base,
                    "input_cost_per_million": 1000.0,  # $1 per 1,000-token prompt
                    "output_cost_per_million": 0.0,
                }
            ],
        )
    summary = outcome.summary
    assert summary["status"] == "finished"
    assert "cost limit" in summary["stop_reason"]
    assert summary["spend_usd"] == pytest.approx(3.0)  # the call that crossed $2.5 is kept
    assert summary["evaluations"]["total"] < 30


def test_keys_come_from_dotenv_and_are_never_stored(
    toy_task, db_url, tmp_path, monkeypatch
) -> None:
    secret = "sk-evoforge-test-7f3a9c"
    monkeypatch.setenv("EVOFORGE_TEST_MODEL_KEY", "placeholder")
    monkeypatch.delenv("EVOFORGE_TEST_MODEL_KEY")  # restored (absent) after the test
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"EVOFORGE_TEST_MODEL_KEY={secret}\n")
    with ScriptedModelServer(default=good_diff) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            models=[
                {
                    "model": "openai/test-model",
                    "api_base": server.api_base,
                    "api_key_env": "EVOFORGE_TEST_MODEL_KEY",
                }
            ],
        )
        sent = {r.headers.get("authorization") for r in server.chat_requests()}
    assert sent == {f"Bearer {secret}"}
    assert outcome.summary["evaluations"]["total"] == 2
    database = db_url.removeprefix("sqlite:///")
    stored = b"".join(
        Path(path).read_bytes() for path in (database, database + "-wal") if os.path.exists(path)
    )
    assert secret.encode() not in stored


def test_a_key_in_the_run_config_is_refused_before_the_run(toy_task, db_url) -> None:
    with pytest.raises(ConfigError, match="looks like a credential.*environment or a .env"):
        run_llm(
            toy_task,
            db_url,
            "http://127.0.0.1:9/v1",
            models=[{"model": "openai/gpt-4o-mini", "api_key": "sk-live-123"}],
        )


def test_cli_names_the_missing_key_in_one_line(toy_task, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = run_cli(
        "run",
        str(toy_task),
        "--model",
        "anthropic/claude-3-5-haiku-latest",
        "--db",
        f"sqlite:///{tmp_path / 'cli.db'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ANTHROPIC_API_KEY" in lines[0] and ".env" in lines[0]


def test_cli_runs_an_ensemble_with_model_flags_and_shows_the_spend(toy_task, tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    with ScriptedModelServer(default=good_diff) as server:
        summary = cli_json(
            "run",
            str(toy_task),
            "--model",
            "openai/alpha=3",
            "--model",
            "openai/beta=1",
            "--api-base",
            server.api_base,
            "--mode-weights",
            "diff=1",
            "--temperature",
            "0.2",
            "--max-evaluations",
            "4",
            "-E",
            "1",
            "-P",
            "1",
            "--db",
            db,
            cwd=tmp_path,
        )
        temperatures = {r.body.get("temperature") for r in server.chat_requests()}
    assert summary["evaluations"]["total"] == 4
    assert summary["proposer_calls"] >= 3
    assert temperatures == {0.2}
    spent_on = {
        row["model"] for row in cli_json("show", summary["run_id"], "--db", db)["spend"]["models"]
    }
    assert spent_on and spent_on <= {"openai/alpha", "openai/beta"}


def test_llm_flags_without_a_model_say_what_is_missing(toy_task, tmp_path) -> None:
    result = run_cli("run", str(toy_task), "--temperature", "0.3", cwd=tmp_path)
    assert result.returncode == 2
    assert "--model" in result.stderr


def test_a_run_config_file_sets_models_modes_and_concurrency(toy_task, tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'config.db'}"
    with ScriptedModelServer(default=good_diff) as server:
        config = tmp_path / "run.toml"
        config.write_text(
            f"""
proposer = "llm"
proposal_slots = 3
evaluation_slots = 1
strategy = "greedy"
[proposer_options]
temperature = 0.1
mode_weights = {{ diff = 1.0 }}
models = [
  {{ model = "openai/first", api_base = "{server.api_base}", weight = 2 }},
  {{ model = "openai/second", api_base = "{server.api_base}", weight = 1 }},
]
[budget]
max_evaluations = 5
"""
        )
        summary = cli_json("run", str(toy_task), "--config", str(config), "--db", db)
        seen = server.chat_requests()
    assert summary["evaluations"]["total"] == 5
    assert {r.body["temperature"] for r in seen} == {0.1}
    assert {r.model for r in seen} <= {"first", "second"}
    stored = cli_json("runs", "--db", db)
    assert stored[0]["run_id"] == summary["run_id"]


def test_show_names_why_paid_answers_made_no_candidate(toy_task, db_url) -> None:
    """A stale SEARCH twice, then an answer with no edit, before each usable one: `show`
    says how many proposals made nothing and why, most frequent first, as the UI does."""
    calls = {"n": 0}

    def answer(request) -> Reply:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            return priced(request)
        if calls["n"] % 3 == 1:
            return Reply("<<<<<<< SEARCH program.py\nX = 42.0\n=======\nX = 1\n>>>>>>> REPLACE\n")
        return Reply("I would rather not change [bold]anything[/bold] here.")

    with ScriptedModelServer(default=answer) as server:
        outcome = run_llm(
            toy_task,
            db_url,
            server.api_base,
            evaluations=3,
            models=[{"model": "openai/gpt-4o-mini", "api_base": server.api_base}],
        )
    shown = cli_json("show", outcome.run_id, "--db", db_url)
    lost = shown["spend"]["proposals"]["rejected"] + shown["spend"]["proposals"]["failed"]
    assert lost >= 2
    groups = shown["rejections"]
    assert sum(group["count"] for group in groups) == lost
    assert len(groups) >= 2 and all(group["reason"] for group in groups)
    text = run_piped("show", outcome.run_id, "--db", db_url).stdout
    total = shown["spend"]["proposals"]["total"]
    assert f"{lost} of {total} proposals made no candidate:" in text
    for group in groups:
        assert f"{group['count']} {group['status']}: {group['reason']}" in text
