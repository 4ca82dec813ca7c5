"""A store seeded by real runs, and a way to open one UI page on it.

The store holds two runs made the way a user makes them: an offline circle-packing
run (islands, process sandbox) and a run of the toy task with the llm proposer
against the loopback model server, priced from litellm's table and with one reply
that breaks the program, so the pages have tokens, costs, a prompt and a failure to
show. The model key lives only in the environment the run saw; the pages must never
show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from support.llm_runs import current_x, diff_to, good_diff, run_llm, write_toy_task
from support.model_server import Reply, ScriptedModelServer
from support.split_task import write_split_task

from evoforge.api import run_task
from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import SCREEN_STAGE
from evoforge.store import Repository, open_read_only
from evoforge.store.database import open_database

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
SECRET = "sk-ui-test-9f8e7d6c5b4a39281706"
KEY_ENV = "EVOFORGE_UI_TEST_KEY"


@dataclass(frozen=True)
class SeededStore:
    url: str
    packing: dict[str, Any]
    """Summary of the offline circle-packing run."""
    llm: dict[str, Any]
    """Summary of the llm-proposer run of the toy task."""

    def repo(self) -> Repository:
        return Repository(open_read_only(self.url))


def _scripted() -> Callable[[Any], Reply]:
    """Good diffs, priced, except the second reply, which makes X a string: the
    evaluator then fails on that candidate with a reason."""
    calls = {"n": 0}

    def answer(request: Any) -> Reply:
        calls["n"] += 1
        reply = (
            Reply(diff_to('"not a number"', current_x(request)))
            if calls["n"] == 2
            else good_diff(request)
        )
        reply.prompt_tokens, reply.completion_tokens = 1000, 200
        return reply

    return answer


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> SeededStore:
    root = tmp_path_factory.mktemp("ui-store")
    url = f"sqlite:///{root / 'store.db'}"
    packing = run_task("circle_packing", db=url, max_evaluations=40, seed=1)
    task = write_toy_task(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, SECRET)
        with ScriptedModelServer(default=_scripted()) as server:
            llm = run_llm(
                task,
                url,
                server.api_base,
                evaluations=5,
                models=[
                    {
                        "model": "openai/gpt-4o-mini",
                        "api_base": server.api_base,
                        "api_key_env": KEY_ENV,
                    }
                ],
            )
        assert any(
            SECRET in request.headers.get("authorization", "") for request in server.chat_requests()
        ), "the key never reached the model server, so the UI test proves nothing"
    repo = Repository(open_read_only(url))
    return SeededStore(
        url=url, packing=repo.run_summary(packing.run_id), llm=repo.run_summary(llm.run_id)
    )


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AppTest]]:
    """`open_page(db_url, "views/run.py", run=...)`: the page run once, as a browser
    would open `/run?run=…`."""

    def open_(db_url: str, page: str | None = None, **params: str) -> AppTest:
        monkeypatch.setenv("EVOFORGE_UI_DB", db_url)
        app = AppTest.from_file(str(APP), default_timeout=60)
        app.query_params.update(params)
        app.run()
        if page is not None:
            app.switch_page(page)
            app.query_params.update(params)
            app.run()
        return app

    yield open_


@dataclass(frozen=True)
class ScreenedStore:
    """A real `pareto` run plus one child whose minibatch screen scored far above the
    run's true best, the way a lucky few-instance screen does."""

    url: str
    summary: dict[str, Any]
    """The run's summary after the screened child was recorded."""
    screened_id: str
    screened_score: float

    def repo(self) -> Repository:
        return Repository(open_read_only(self.url))


@pytest.fixture(scope="session")
def screened_store(tmp_path_factory: pytest.TempPathFactory) -> ScreenedStore:
    root = tmp_path_factory.mktemp("ui-pareto")
    url = f"sqlite:///{root / 'store.db'}"
    task = write_split_task(root, spread_metric=True)
    # A second metric, so the run page draws a Pareto front of score and spread.
    outcome = run_task(
        task,
        db=url,
        max_evaluations=24,
        seed=1,
        strategy="pareto",
        evaluation_slots=1,
        proposal_slots=1,
    )
    repo = Repository(open_database(url))
    true_best = repo.run_summary(outcome.run_id)["best_score"]
    seed = repo.seed_candidate(outcome.run_id)
    child = repo.add_candidate(
        outcome.run_id,
        {"program.py": "# EVOLVE-BLOCK-START\nW = [2.0, 2.5, 9.0, 9.0, 9.0, 9.0]\n"},
        parent_id=seed.id,
        generation=1,
        proposer="test",
    )
    assert child is not None
    screened_score = min(1.0, true_best + 0.2)
    repo.record_evaluation(
        child.id,
        EvaluationOutcome(
            status="ok",
            score=screened_score,
            metrics={"spread": 7.0},
            instance_scores={"train-0": 1.0, "train-1": 1.0, "train-2": screened_score},
            stage=SCREEN_STAGE,
            reason="stopped at stage 'minibatch'",
        ),
    )
    summary = repo.run_summary(outcome.run_id)
    assert summary["best_score"] == true_best < screened_score
    return ScreenedStore(
        url=url, summary=summary, screened_id=child.id, screened_score=screened_score
    )
