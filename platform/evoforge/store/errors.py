"""The one exception the store raises for problems a user can fix."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The database cannot be opened or used as asked; the message names the fix.

    Messages are one line so the CLI can print them as they are.
    """


class NoDatabase(StoreError):
    """There is no store at the URL yet (no file, or no tables): nothing has run there.

    Only read-only opens raise it; a normal open creates the store instead.
    """


class StoreUnavailable(StoreError):
    """The store stayed busy or unreachable longer than the run waits for it.

    Raised only after the retries in `evoforge.store.retry` ran out; the message says
    what kept it away and how to wait longer.
    """
