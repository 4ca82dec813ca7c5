"""Opening the store: one engine, one session factory, schema at head.

`open_database(None)` is the zero-configuration default, a SQLite file under
`./.evoforge/`; any SQLAlchemy URL works otherwise (PostgreSQL when runs span
machines). Every open brings the schema to the newest migration, which costs one
query when it is already there, because the CLI opens the database on every command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from evoforge.store.errors import NoDatabase, StoreError
from evoforge.store.migrations import current_revision, head_revision, upgrade_to_head

__all__ = [
    "Database",
    "NoDatabase",
    "StoreError",
    "default_database_path",
    "open_database",
    "open_read_only",
]

DEFAULT_FOLDER = ".evoforge"
DEFAULT_FILE = "evoforge.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another (orchestrator, UI, a second run)."""

_URL_HINT = "pass a SQLAlchemy URL with --db, e.g. sqlite:///runs/evoforge.db"


def default_database_path(cwd: Path | None = None) -> Path:
    """Where runs go when no --db is given: `<cwd>/.evoforge/evoforge.db`."""
    return (cwd or Path.cwd()) / DEFAULT_FOLDER / DEFAULT_FILE


class Database:
    """An open store: the engine and a session factory. Queries go through
    `evoforge.store.repository.Repository(database)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The URL with any password hidden, safe to print."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        """Release pooled connections (and, on SQLite, let WAL checkpoint)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"


def open_database(url: str | None = None) -> Database:
    """Open (creating and migrating as needed) the store at `url`.

    None means the default SQLite file under the current directory, whose folder is
    created. Raises `StoreError` with one line naming `--db` when the URL is malformed,
    its driver is missing or the database cannot be reached.
    """
    if url is None:
        path = default_database_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent} ({exc.strerror}); {_URL_HINT}") from exc
        sa_url: URL = URL.create("sqlite", database=str(path))
    else:
        sa_url = _parse(url)
    shown = sa_url.render_as_string(hide_password=True)
    engine = _engine(sa_url, _engine_options(sa_url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        upgrade_to_head(engine)
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(
            f"--db {shown}: cannot open the database ({_first_line(exc)}); check the URL "
            "and that the database is reachable and writable"
        ) from exc
    return Database(engine)


def open_read_only(url: str | None = None) -> Database:
    """Open an existing store for reading only: never created, migrated or written.

    The UI opens the store this way while runs write to it. SQLite connections set
    `query_only` (WAL mode lets them read beside the writer); PostgreSQL sessions
    default to read-only transactions. Raises `NoDatabase` when nothing has run there
    yet (no SQLite file, or no tables) and `StoreError` when the schema is not the one
    this evoforge reads (an older store is upgraded by any other `evoforge` command).
    """
    if url is None:
        sa_url: URL = URL.create("sqlite", database=str(default_database_path()))
    else:
        sa_url = _parse(url)
    shown = sa_url.render_as_string(hide_password=True)
    backend = sa_url.get_backend_name()
    options = _engine_options(sa_url)
    if backend == "sqlite":
        path = sa_url.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise NoDatabase(f"no evoforge store at {shown} yet")
    elif backend == "postgresql":
        options["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    engine = _engine(sa_url, options)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_read_only)
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(
            f"--db {shown}: cannot read the database ({_first_line(exc)}); check the URL "
            "and that the database is reachable"
        ) from exc
    if current is None:
        engine.dispose()
        raise NoDatabase(f"the database at {shown} holds no evoforge store yet")
    if current != head_revision():
        engine.dispose()
        raise StoreError(
            f"--db {shown}: the store's schema is at revision {current}, this evoforge "
            f"reads {head_revision()}; run `evoforge runs --db {shown}` once to upgrade it, "
            "or upgrade evoforge"
        )
    return Database(engine)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"--db {url!r} is not a database URL; {_URL_HINT}") from exc


def _engine(url: URL, options: dict[str, Any]) -> Engine:
    """An engine, or one line saying the driver is missing or the kind is unknown."""
    shown = url.render_as_string(hide_password=True)
    try:
        return create_engine(url, **options)
    except ImportError as exc:
        raise StoreError(
            f"--db {shown}: the database driver is not installed ({_first_line(exc)}); "
            "install it or pass another --db"
        ) from exc
    except (NoSuchModuleError, ArgumentError, TypeError) as exc:
        raise StoreError(
            f"--db {shown}: unknown kind of database ({_first_line(exc)}); {_URL_HINT}"
        ) from exc


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    """A reader waits for the writer instead of failing, and can never write."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only = ON")
    finally:
        cursor.close()


def _engine_options(url: URL) -> dict[str, Any]:
    """Pre-ping so a long run survives a server restart or an idle-connection timeout.

    PostgreSQL transactions are pinned to READ COMMITTED whatever the server's
    default: concurrent writers (an orchestrator and its workers) take turns on the
    run row, and only at this level does the one that waited go on with the newest
    row instead of failing with a serialization error its caller cannot handle.
    """
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {}
    if backend == "postgresql":
        return {"pool_pre_ping": True, "isolation_level": "READ COMMITTED"}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: readers never block the writer (WAL), commits
    skip the fsync that WAL makes unnecessary for integrity, foreign keys are enforced,
    and a second writer waits instead of failing at once."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _retry_while_locked(lambda: cursor.execute("PRAGMA journal_mode = WAL"))
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _retry_while_locked(statement: Callable[[], object]) -> None:
    """Run a statement SQLite may refuse with "locked" without waiting on busy_timeout.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers a second
    connection doing the same at that moment with an immediate "database is locked";
    that happens when several processes open a fresh database at once.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            statement()
            return
        except Exception as exc:  # the driver's OperationalError; drivers differ
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _first_line(exc: BaseException) -> str:
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(reason).strip().splitlines()
    return lines[0] if lines else type(reason).__name__
