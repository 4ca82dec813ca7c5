"""Opening the store: one engine, one session factory, schema at head.

`open_database(None)` is the zero-configuration default, a SQLite file under
`./.evoforge/`; any SQLAlchemy URL works otherwise (PostgreSQL when runs span
machines). Every open brings the schema to the newest migration, which costs one
query when it is already there, because the CLI opens the database on every command.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from evoforge.store.errors import NoDatabase, StoreError, StoreUnavailable
from evoforge.store.migrations import current_revision, head_revision, upgrade_to_head
from evoforge.store.retry import DEFAULT_PATIENCE_S, PATIENCE_ENV, Retrier

__all__ = [
    "Database",
    "NoDatabase",
    "StoreError",
    "StoreUnavailable",
    "default_database_path",
    "open_database",
    "open_read_only",
]

DEFAULT_FOLDER = ".evoforge"
DEFAULT_FILE = "evoforge.db"
SQLITE_BUSY_TIMEOUT_MS = 5_000
"""How long SQLite itself waits for another writer (orchestrator, worker, a second run)
before answering "database is locked". Ordinary turn-taking takes milliseconds and
never reaches it; a lock held longer then surfaces in `Retrier`, which logs that the
run is paused and backs off, instead of leaving the run silently stuck in SQLite."""
READ_ONLY_PATIENCE_S = 30.0
"""How long a reader (the UI) waits for a busy store: a page should fail, not hang."""
T = TypeVar("T")

_open: ContextVar[tuple[Database, Session | Connection] | None] = ContextVar(
    "evoforge_session", default=None
)
"""The transaction this thread or task has open, which nested `session()` and
`connection()` blocks join."""

_URL_HINT = "pass a SQLAlchemy URL with --db, e.g. sqlite:///runs/evoforge.db"


def default_database_path(cwd: Path | None = None) -> Path:
    """Where runs go when no --db is given: `<cwd>/.evoforge/evoforge.db`."""
    return (cwd or Path.cwd()) / DEFAULT_FOLDER / DEFAULT_FILE


class Database:
    """An open store: the engine, a session factory and the retry policy. Queries go
    through `evoforge.store.repository.Repository(database)`, whose every method is
    one unit of work retried by `retrying` while the store is busy."""

    def __init__(self, engine: Engine, patience_s: float = DEFAULT_PATIENCE_S) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.retrier = Retrier(self.url, patience_s)

    def retrying(self, what: str, work: Callable[[], T]) -> T:
        """Run `work` (a whole unit of work that opens its own sessions), again from
        its start while the store is busy or unreachable; see `evoforge.store.retry`."""
        return self.retrier.call(what, work)

    @property
    def url(self) -> str:
        """The URL with any password hidden, safe to print."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Inside another `session()` or `connection()` of this database (same thread or
        task) the block joins that transaction instead of opening one: a method made of
        other methods (a proposal and the child it made) then commits once, all or
        nothing."""
        joined = _open.get()
        if joined is not None and joined[0] is self:
            held = joined[1]
            if isinstance(held, Session):
                yield held
                return
            # Inside a `connection()` block: a session on that connection's transaction,
            # flushed into it; the outer block commits.
            with self._sessions(bind=held) as joining:
                token = _open.set((self, joining))
                try:
                    yield joining
                    joining.flush()
                finally:
                    _open.reset(token)
            return
        with self._sessions() as session, session.begin():
            token = _open.set((self, session))
            try:
                yield session
            finally:
                _open.reset(token)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One transaction on a Core connection, as `session()` but without the ORM.

        For the writes made once per candidate (storing the child and its proposal,
        recording its evaluation): they are Core statements, and an ORM session's
        bookkeeping around them (its transaction states, the flush at commit, the
        identity map) cost about as much as two of the statements. Joins an open
        `session()` or `connection()` of this database as `session()` does."""
        joined = _open.get()
        if joined is not None and joined[0] is self:
            held = joined[1]
            yield held.connection() if isinstance(held, Session) else held
            return
        with self.engine.begin() as connection:
            token = _open.set((self, connection))
            try:
                yield connection
            finally:
                _open.reset(token)

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


def open_database(url: str | None = None, patience_s: float | None = None) -> Database:
    """Open (creating and migrating as needed) the store at `url`.

    None means the default SQLite file under the current directory, whose folder is
    created. Raises `StoreError` with one line naming `--db` when the URL is malformed,
    its driver is missing or the database cannot be reached. `patience_s` is how long
    each query waits out a busy or unreachable store (None: `EVOFORGE_STORE_PATIENCE_S`,
    else 10 minutes); opening itself is not retried, so a wrong URL fails at once.
    """
    patience = store_patience_s() if patience_s is None else patience_s
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
    return Database(engine, patience)


def absent_store(url: str | None = None) -> str | None:
    """The URL, as shown to users, of a SQLite store that does not exist at `url` (None:
    the default file), else None. Commands that only read (`runs`, `show`) report it
    rather than let `open_database` create an empty store at a mistyped path. A server
    URL is never absent here: whether it holds a store is learnt by opening it."""
    if url is None:
        sa_url: URL = URL.create("sqlite", database=str(default_database_path()))
    else:
        sa_url = _parse(url)
    if sa_url.get_backend_name() != "sqlite":
        return None
    path = sa_url.database or ""
    if path in ("", ":memory:") or Path(path).is_file():
        return None
    return sa_url.render_as_string(hide_password=True)


def open_read_only(url: str | None = None, patience_s: float | None = None) -> Database:
    """Open an existing store for reading only: never created, migrated or written.

    The UI opens the store this way while runs write to it. SQLite connections set
    `query_only` (WAL mode lets them read beside the writer); PostgreSQL sessions
    default to read-only transactions. Raises `NoDatabase` when nothing has run there
    yet (no SQLite file, or no tables) and `StoreError` when the schema is not the one
    this evoforge reads (an older store is upgraded by any other `evoforge` command).
    Queries wait out a busy store for `patience_s` (default `READ_ONLY_PATIENCE_S`).
    """
    patience = READ_ONLY_PATIENCE_S if patience_s is None else patience_s
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
    return Database(engine, patience)


def store_patience_s() -> float:
    """`EVOFORGE_STORE_PATIENCE_S` (seconds, at least 0), else `DEFAULT_PATIENCE_S`."""
    raw = os.environ.get(PATIENCE_ENV, "").strip()
    if not raw:
        return DEFAULT_PATIENCE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise StoreError(f"{PATIENCE_ENV}={raw!r} is not a number of seconds; e.g. 600")
    return value


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
    """No pre-ping: it costs a round trip per transaction (two per candidate), and a
    connection found dead (a server restart, an idle-connection timeout) fails its
    first statement with a disconnect, which invalidates the pool and is retried
    whole as any transient store error is (`evoforge.store.retry`).

    PostgreSQL transactions are pinned to READ COMMITTED whatever the server's
    default: concurrent writers (an orchestrator and its workers) take turns on the
    run row, and only at this level does the one that waited go on with the newest
    row instead of failing with a serialization error its caller cannot handle.
    """
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {}
    if backend == "postgresql":
        return {"isolation_level": "READ COMMITTED"}
    return {}


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
