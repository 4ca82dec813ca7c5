"""Opening the store: the default location, SQLite settings, reopening, and clear errors.

The default-location and pragma tests are SQLite's alone, so they take no `db_url`:
the default store is a SQLite file, and PostgreSQL has neither files nor pragmas.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

from evoforge.store import (
    Database,
    Repository,
    StoreError,
    default_database_path,
    open_database,
)
from evoforge.store.models import Run
from evoforge.task import Task


def test_no_url_means_a_sqlite_file_under_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with open_database(None) as db:
        assert db.engine.dialect.name == "sqlite"
        assert Path(db.engine.url.database or "") == tmp_path / ".evoforge" / "evoforge.db"
    assert default_database_path() == tmp_path / ".evoforge" / "evoforge.db"
    assert (tmp_path / ".evoforge" / "evoforge.db").is_file()


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    with open_database(f"sqlite:///{tmp_path / 'x.db'}") as db, db.engine.connect() as conn:
        settings = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert settings["journal_mode"] == "wal"
    assert settings["foreign_keys"] == 1
    assert settings["synchronous"] == 1  # NORMAL
    assert settings["busy_timeout"] >= 1000


def test_opening_an_existing_database_again_keeps_its_runs(db_url: str, task: Task) -> None:
    with open_database(db_url) as first:
        run_id = Repository(first).create_run(task, {})
    second = open_database(db_url)
    third = open_database(db_url)  # two open at once is fine too

    assert Repository(second).get_run(run_id).id == run_id
    assert [r["run_id"] for r in Repository(third).list_runs()] == [run_id]
    second.close()
    third.close()


def test_several_openers_of_a_new_database_at_once_all_succeed(db_url: str) -> None:
    opened: list[Database] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(open_database(db_url))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(Repository(db).list_runs() == [] for db in opened)
    for db in opened:
        db.close()


def test_the_session_commits_or_rolls_back_as_a_whole(db: Database, task: Task) -> None:
    repo = Repository(db)
    run_id = repo.create_run(task, {})

    with pytest.raises(RuntimeError), db.session() as session:
        session.get(Run, run_id).stop_reason = "changed"  # type: ignore[union-attr]
        raise RuntimeError("boom")

    assert repo.get_run(run_id).stop_reason == ""


def _stop_reason_by_core(db: Database, run_id: str, reason: str) -> None:
    with db.connection() as connection:
        runs = Run.__table__
        connection.execute(runs.update().where(runs.c.id == run_id).values(stop_reason=reason))


@pytest.mark.parametrize("outer_fails", [False, True])
def test_a_session_inside_a_connection_block_is_part_of_its_transaction(
    db: Database, task: Task, outer_fails: bool
) -> None:
    repo = Repository(db)
    run_id = repo.create_run(task, {})

    with contextlib.suppress(RuntimeError), db.connection() as connection:
        with db.session() as session:  # an ORM change, flushed into the outer transaction
            session.get(Run, run_id).status = "stopped"  # type: ignore[union-attr]
        runs = Run.__table__
        connection.execute(runs.update().where(runs.c.id == run_id).values(stop_reason="core"))
        if outer_fails:
            raise RuntimeError("boom")

    run = repo.get_run(run_id)
    if outer_fails:  # nothing of either: the inner session did not commit on its own
        assert (run.status, run.stop_reason) == ("running", "")
    else:
        assert (run.status, run.stop_reason) == ("stopped", "core")


def test_a_connection_inside_a_session_block_commits_and_rolls_back_with_it(
    db: Database, task: Task
) -> None:
    repo = Repository(db)
    run_id = repo.create_run(task, {})

    with pytest.raises(RuntimeError), db.session():
        _stop_reason_by_core(db, run_id, "rolled back")
        raise RuntimeError("boom")
    assert repo.get_run(run_id).stop_reason == ""

    with db.session() as session:
        _stop_reason_by_core(db, run_id, "kept")
        session.get(Run, run_id).status = "stopped"  # type: ignore[union-attr]
    run = repo.get_run(run_id)
    assert (run.status, run.stop_reason) == ("stopped", "kept")


@pytest.mark.parametrize(
    "url",
    [
        "definitely not a url",
        "nosuchdatabase://host/db",
        "sqlite:////no/such/folder/evoforge.db",
        "postgresql://ada:hunter2@127.0.0.1:1/evoforge",
    ],
)
def test_a_bad_or_unreachable_url_is_one_clear_line_naming_db(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_database(url)

    message = str(caught.value)
    assert "--db" in message
    assert "\n" not in message
    assert "hunter2" not in message  # passwords never reach the terminal
