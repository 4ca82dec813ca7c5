"""The UI's way in: a store opened read-only sees everything and can change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.old_store import OLD_REVISION, make_old_store, stored_revision

from evoforge.jobs import EvaluationOutcome
from evoforge.store import NoDatabase, Repository, StoreError, open_read_only
from evoforge.store.migrations import head_revision


def test_a_reader_sees_the_runs_and_cannot_write(
    repo: Repository, run_id: str, db_url: str
) -> None:
    seed = repo.add_candidate(run_id, {"main.py": "x = 1\n"}, kind="seed")
    child = repo.add_candidate(run_id, {"main.py": "x = 22\n"}, parent_id=seed.id)
    repo.record_evaluation(seed.id, EvaluationOutcome(status="ok", score=1.0))
    repo.record_evaluation(child.id, EvaluationOutcome(status="invalid", reason="x too big"))

    reader = Repository(open_read_only(db_url))
    assert reader.run_summary(run_id) == repo.run_summary(run_id)
    points = reader.evaluation_points(run_id)
    assert [(p["candidate_id"], p["status"], p["code_length"]) for p in points] == [
        (seed.id, "ok", 6),
        (child.id, "invalid", 7),
    ]
    assert points[1]["reason"] == "x too big"
    assert reader.lineage(run_id)["nodes"][1]["reason"] == "x too big"

    with pytest.raises(Exception, match=r"(?i)read.?only"):
        reader.set_run_status(run_id, "failed")
    with pytest.raises(Exception, match=r"(?i)read.?only"):
        reader.add_candidate(run_id, {"main.py": "x = 3\n"})
    assert repo.run_summary(run_id)["status"] == "running"
    assert repo.count_candidates(run_id) == 2


def test_no_file_means_no_store_and_none_is_created(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "evoforge.db"
    with pytest.raises(NoDatabase, match="no evoforge store at"):
        open_read_only(f"sqlite:///{path}")
    assert not path.parent.exists()


def test_a_database_without_tables_holds_no_store(tmp_path: Path) -> None:
    path = tmp_path / "blank.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("create table unrelated (x integer)"))
    engine.dispose()
    with pytest.raises(NoDatabase, match="holds no evoforge store"):
        open_read_only(f"sqlite:///{path}")


def test_an_older_schema_is_not_upgraded_by_a_reader(tmp_path: Path) -> None:
    url = make_old_store(tmp_path / "old.db")
    with pytest.raises(StoreError, match=r"revision 0001, this evoforge reads .*evoforge runs"):
        open_read_only(url)
    # It stayed as it was: the reader did not migrate it.
    assert stored_revision(url) == OLD_REVISION != head_revision()
