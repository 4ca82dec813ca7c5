"""A store whose schema claims an older revision, as an older evoforge left it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from evoforge.store import open_database

OLD_REVISION = "0001"


def make_old_store(path: Path) -> str:
    """A SQLite store at `path` stamped with revision 0001; returns its URL."""
    url = f"sqlite:///{path}"
    open_database(url).close()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"update alembic_version set version_num = '{OLD_REVISION}'"))
    engine.dispose()
    return url


def stored_revision(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text("select version_num from alembic_version")).scalar()
    engine.dispose()
    return str(found)
