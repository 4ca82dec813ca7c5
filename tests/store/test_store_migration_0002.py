"""Migration 0002 (proposals) on a database that already holds 0001 data, both ways."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import ProposerCall
from evoforge.store import Database, Repository, open_database
from evoforge.store.migrations import alembic_config, current_revision, head_revision
from evoforge.store.models import ProposerCall as ProposerCallRow
from evoforge.task import Task


def _files(n: int) -> dict[str, str]:
    return {"main.py": f"x = {n}\n"}


def _call_links(database: Database, run_id: str) -> list[int | None]:
    with database.session() as session:
        return list(
            session.scalars(
                select(ProposerCallRow.proposal_id)
                .where(ProposerCallRow.run_id == run_id)
                .order_by(ProposerCallRow.id)
            )
        )


def test_upgrading_a_0001_database_keeps_its_rows(db_url: str, task: Task) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    old = Repository(Database(engine))  # at 0001: no migration on this open
    run_id = old.create_run(task, {})
    seed = old.add_candidate(run_id, _files(0), kind="seed", proposer="seed")
    assert seed is not None
    old.record_evaluation(seed.id, EvaluationOutcome(status="ok", score=1.0))
    child = old.add_candidate(run_id, _files(1), parent_id=seed.id, proposer="llm")
    assert child is not None
    old.record_evaluation(child.id, EvaluationOutcome(status="ok", score=2.0))
    with engine.begin() as conn:
        for candidate_id, model, cost, error in [
            (child.id, "m1", 0.25, ""),
            (None, "m1", 1.0, ""),
            (None, "m2", 0.5, "timeout"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO proposer_calls (run_id, candidate_id, proposer, model, prompt,"
                    " response, tokens_in, tokens_out, cost_usd, latency_s, error, created_at)"
                    " VALUES (:run_id, :candidate_id, 'llm', :model, 'p', 'r', 10, 1, :cost,"
                    " 0.5, :error, CURRENT_TIMESTAMP)"
                ),
                {"run_id": run_id, "candidate_id": candidate_id, "model": model, "cost": cost,
                 "error": error},
            )  # fmt: skip
    engine.dispose()

    database = open_database(db_url)
    repo = Repository(database)
    with database.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    summary = repo.run_summary(run_id)
    assert (summary["proposer_calls"], summary["spend_usd"]) == (3, pytest.approx(1.75))
    assert (summary["candidates"], summary["best_score"]) == (2, 2.0)
    calls = repo.candidate_detail(child.id)["proposer_calls"]
    assert [(c["model"], c["proposal_id"]) for c in calls] == [("m1", None)]
    assert repo.candidate_detail(child.id)["proposal"] is None
    assert repo.count_proposals(run_id) == 0
    report = repo.spend_report(run_id)  # calls from before 0002 still credit their child
    assert (report["improvements"], report["errors"]) == (1, 1)
    assert [(m["model"], m["children"]) for m in report["models"]] == [("m1", 1), ("m2", 0)]
    pid = repo.record_proposal(
        run_id, seq=1, parent_id=child.id, candidate_id=None, proposer="llm", kind="diff",
        status="rejected", reason="no-op", calls=[ProposerCall(model="m1")],
    )  # fmt: skip
    assert _call_links(database, run_id) == [None, None, None, pid]
    database.close()


def test_downgrading_to_0001_keeps_the_proposer_calls(db_url: str, task: Task) -> None:
    database = open_database(db_url)
    repo = Repository(database)
    run_id = repo.create_run(task, {})
    repo.record_proposal(
        run_id, seq=1, parent_id=None, candidate_id=None, proposer="llm", kind="",
        status="failed", reason="timeout", calls=[ProposerCall(model="m1", cost_usd=0.5)],
    )  # fmt: skip
    database.close()

    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
        assert current_revision(conn) == "0001"
        assert conn.execute(text("SELECT model, cost_usd FROM proposer_calls")).all() == [
            ("m1", 0.5)
        ]
    engine.dispose()
