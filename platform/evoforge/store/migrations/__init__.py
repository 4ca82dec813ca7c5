"""Schema migrations, shipped inside the package and run in code on every open.

The Alembic config is built here rather than read from an alembic.ini, with
`script_location` pointing at this folder, so migrations work the same from a
checkout, an editable install or a wheel.

Opening a database must stay cheap (the CLI opens it on every command), so the
up-to-date check reads `alembic_version` with plain SQLAlchemy and compares it with
the newest revision file name; Alembic itself is imported only when there is work.
Revision files are named `NNNN_slug.py` with revision id "NNNN" and form one line;
`tests/store` checks that Alembic sees the same head.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from evoforge.store.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
UPGRADE_LOCK_KEY = 0x65766F666F726765  # "evoforge": the PostgreSQL advisory lock id
"""Advisory locks are per database, so one fixed id serialises upgrades of one store."""
_ALEMBIC_IN_USE = threading.Lock()


@cache
def revisions() -> tuple[str, ...]:
    """All revision ids, oldest first, read from the version file names."""
    found = sorted(
        match.group(1)
        for path in (MIGRATIONS_DIR / "versions").iterdir()
        if (match := _REVISION_FILE.match(path.name))
    )
    return tuple(found)


def head_revision() -> str:
    return revisions()[-1]


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for this package's migrations, with no file behind it."""
    from alembic.config import Config

    config = Config()
    # Config values go through configparser interpolation: escape any '%' in paths.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op costing one query when it is.

    Concurrent first opens are safe: the upgrade runs in one transaction that first
    takes a lock every other opener also waits for (`BEGIN IMMEDIATE` on SQLite, a
    transaction-level advisory lock on PostgreSQL; both databases have transactional
    DDL), then reads the revision again, so a second opener finds the work done and
    changes nothing. Elsewhere a failed upgrade is forgiven when another process has
    meanwhile reached head. Threads of one process also take turns, because
    Alembic keeps the running migration's context in module-level state.
    """
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
        connection.rollback()
        if current == head:
            return
        _check_known(current)
        with _ALEMBIC_IN_USE:
            try:
                _lock_out_other_upgrades(connection)
                current = current_revision(connection)
                _check_known(current)
                if current != head:
                    from alembic import command

                    command.upgrade(alembic_config(connection), "head")
                connection.commit()
            except StoreError:
                connection.rollback()
                raise
            except Exception:
                connection.rollback()
                if current_revision(connection) != head:
                    raise
                connection.rollback()


def _lock_out_other_upgrades(connection: Connection) -> None:
    """Start the upgrade transaction holding the lock concurrent openers queue on;
    committing or rolling back releases it."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})


def _check_known(current: str | None) -> None:
    if current is not None and current not in revisions():
        raise StoreError(
            f"the database schema is at revision {current}, newer than this evoforge "
            f"knows (newest {head_revision()}); upgrade evoforge or pass another --db"
        )
