"""Riding out a busy or briefly unreachable store: the whole unit of work is retried.

A run writes to the store after every step, and the store can be out of reach for a
while with nothing wrong in the run: a SQLite writer holds the write lock past the
busy timeout (a second run, a backup, or a candidate that took a read lock on the
WAL's lock byte in the `-shm` file), a PostgreSQL server restarts or an administrator
terminates the connection, or two transactions collide and one must be run again.
None of these is a reason to end a run that may have been going for hours, so such
an error pauses the run instead: the unit of work (one `Repository` method) is run
again from its start, in a fresh session and transaction, after a capped exponential
backoff with jitter. A transaction that failed part-way was rolled back, and redoing
only its tail could store half of it, so nothing smaller than the whole method is
ever repeated.

One case stays in doubt: a PostgreSQL connection cut during COMMIT, after the server
committed but before the answer arrived. The writes that matter are idempotent, so
their retry finds the work done (a candidate by its content hash, one evaluation per
candidate, one split score per split); a proposal row, which has no such key, may
then be stored twice.

Only errors that go away by themselves are retried (`transient_reason`); a broken
constraint, a missing table or a bad query fails at once, since waiting cannot fix
it. Retrying stops after `Retrier.patience_s` (`EVOFORGE_STORE_PATIENCE_S`, default
10 minutes) with `StoreUnavailable`, one line naming the fix.
"""

from __future__ import annotations

import logging
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError

from evoforge.presses import pressed
from evoforge.store.errors import StoreUnavailable

__all__ = [
    "DEFAULT_PATIENCE_S",
    "FIRST_DELAY_S",
    "MAX_DELAY_S",
    "PATIENCE_ENV",
    "Retrier",
    "transient_reason",
]

log = logging.getLogger("evoforge.store")
T = TypeVar("T")

PATIENCE_ENV = "EVOFORGE_STORE_PATIENCE_S"
DEFAULT_PATIENCE_S = 600.0
"""How long a run waits for its store before it fails: long enough for a server
restart or a stuck lock holder to be noticed and dealt with."""
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
"""The longest pause between two tries, so the run resumes soon after the store does."""
PRESS_POLL_S = 0.1
"""How often a pause between tries looks for a Ctrl-C, which does not wake it."""

_SQLITE_LOCK_IO_ERRORS = {
    sqlite3.SQLITE_IOERR_LOCK,
    sqlite3.SQLITE_IOERR_RDLOCK,
    sqlite3.SQLITE_IOERR_UNLOCK,
    sqlite3.SQLITE_IOERR_CHECKRESERVEDLOCK,
    sqlite3.SQLITE_IOERR_SHMLOCK,
}
"""Extended codes of a "disk I/O error" that a failed file lock causes (not a disk)."""
_SQLITE_LOCKED_TEXT = re.compile(r"database (table |schema )?is locked")

_PG_TRANSIENT = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
    "55P03": "lock not available",
    "53300": "too many connections",
    "57P01": "connection terminated by the administrator",
    "57P02": "server crashed",
    "57P03": "server not accepting connections yet",
}
_PG_CONNECTION_LOST = re.compile(
    r"connection refused|server closed the connection|connection (is|was) (lost|closed)"
    r"|could not (send|receive)|consuming input failed|terminating connection"
    r"|no route to host|network is unreachable|timeout expired",
    re.IGNORECASE,
)

_inside: ContextVar[bool] = ContextVar("evoforge_store_retrying", default=False)
"""True while a retried unit of work runs: units it calls (a method calling another)
do not retry on their own; the outermost one repeats everything."""


def transient_reason(exc: BaseException) -> str | None:
    """A few words naming why the store refused, when waiting can fix it; else None.

    SQLite: busy or locked (`database is locked`, `database table is locked`, a
    stale WAL snapshot) and the `disk I/O error`s that a failed file lock raises.
    PostgreSQL: a lost, refused or terminated connection (SQLAlchemy's
    `connection_invalidated`, SQLSTATE class 08, admin or crash shutdown), a
    serialization failure or deadlock, too many connections.
    """
    if isinstance(exc, DisconnectionError):
        return "connection lost"
    if not isinstance(exc, DBAPIError) or isinstance(exc, IntegrityError):
        return None
    if exc.connection_invalidated:
        return f"connection lost: {_first_line(exc.orig)}"
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return _sqlite_reason(orig)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        if sqlstate in _PG_TRANSIENT:
            return _PG_TRANSIENT[sqlstate]
        if sqlstate.startswith("08"):
            return f"connection lost: {_first_line(orig)}"
        return None
    if type(orig).__name__ == "OperationalError" and _PG_CONNECTION_LOST.search(str(orig)):
        return f"connection lost: {_first_line(orig)}"
    return None


def _sqlite_reason(orig: sqlite3.Error) -> str | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return _first_line(orig)
        if code in _SQLITE_LOCK_IO_ERRORS:
            return f"{_first_line(orig)} from a file lock"
        return None
    text = str(orig)
    return text if _SQLITE_LOCKED_TEXT.search(text) else None


class Retrier:
    """Runs one unit of work against a store, again and again while it is busy.

    One per `Database`. `clock` and `sleep` are parameters so tests can check the
    schedule without waiting for it.
    """

    def __init__(
        self,
        shown_url: str,
        patience_s: float = DEFAULT_PATIENCE_S,
        *,
        first_delay_s: float = FIRST_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.shown_url = shown_url
        self.patience_s = patience_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._gave_up = False
        """Set when patience ran out, cleared by the next success: after giving up,
        the run's last writes (marking it failed) try once instead of waiting again."""

    def delay(self, attempt: int) -> float:
        """The pause before try `attempt + 1`: doubling from `first_delay_s`, capped
        at `max_delay_s`, between half and all of that at random, so processes
        that failed together do not come back together."""
        ceiling = min(self.max_delay_s, self.first_delay_s * 2 ** min(attempt, 32))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def call(self, what: str, work: Callable[[], T]) -> T:
        """`work()`, retried from its start while the store is busy or unreachable.

        `what` names the unit in the log. Raises `StoreUnavailable` once
        `patience_s` has passed; any other error at once.
        """
        if _inside.get():
            return work()
        token = _inside.set(True)
        try:
            return self._call(what, work)
        finally:
            _inside.reset(token)

    def _call(self, what: str, work: Callable[[], T]) -> T:
        started = self._clock()
        attempt = 0
        while True:
            try:
                result = work()
            except Exception as exc:
                reason = transient_reason(exc)
                if reason is None:
                    raise
                waited = self._clock() - started
                pause = self.delay(attempt)
                if self._gave_up or waited + pause > self.patience_s:
                    self._gave_up = True
                    raise StoreUnavailable(
                        f"the store {self.shown_url} stayed unavailable for {waited:.0f} s "
                        f"({reason}) during {what}; free it (end the process holding its "
                        f"lock, restart its server) and `evoforge resume` the run, or let "
                        f"runs wait longer with {PATIENCE_ENV}=SECONDS"
                    ) from exc
                log.warning(
                    "store busy (%s) during %s; the run pauses, retrying in %.1f s",
                    reason,
                    what,
                    pause,
                )
                self._pause(pause, what)
                attempt += 1
                continue
            if attempt:
                log.warning(
                    "store available again: %s went through after %d retries (%.1f s)",
                    what,
                    attempt,
                    self._clock() - started,
                )
            self._gave_up = False
            return result

    def _pause(self, seconds: float, what: str) -> None:
        """Sleep before the next try, unless Ctrl-C comes first: a press during the
        run's wait (or before it) ends the wait, since the user asked to stop now."""
        if self._sleep is not time.sleep:  # a test's clock: its schedule, no presses
            self._sleep(seconds)
            return
        end = time.monotonic() + seconds
        while True:
            if pressed():
                _give_up_for_ctrl_c(what)
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, PRESS_POLL_S))


def _give_up_for_ctrl_c(what: str) -> None:
    """In the main thread Ctrl-C becomes the `KeyboardInterrupt` the run expects;
    elsewhere (a thread writing for the run) the unit of work fails."""
    if threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt
    raise StoreUnavailable(f"stopped waiting for the store during {what}: Ctrl-C was pressed")


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines() if exc is not None else []
    return lines[0] if lines else type(exc).__name__
