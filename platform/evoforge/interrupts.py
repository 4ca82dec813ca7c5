"""What Ctrl-C does to a run, wherever it lands: the run ends `interrupted`, never `running`.

Python raises `KeyboardInterrupt` between any two bytecodes. Pressed just after a run's
row was committed but before its id reached the code that would mark it stopped, Ctrl-C
would leave the run `running` forever, with no process behind it. Inside
`held_interrupts` the press is only noted, and delivered the moment the block ends,
when the caller knows what it stored.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from evoforge.store.database import Database
from evoforge.store.errors import StoreError
from evoforge.store.repository import Repository

STOP_REASON = "stopped by Ctrl-C; `evoforge resume` continues it"
"""The stop reason of a run Ctrl-C ended, as `show` and the UI print it."""

STOP_PATIENCE_S = 2.0
"""How long marking a run stopped waits out a busy store (a run waits minutes): the
user pressed Ctrl-C to stop now. A run the store could not mark stays `running`,
and `evoforge resume` continues it all the same."""


_unrecorded: set[str] = set()
"""Runs this process could not mark: the orchestrator, the API and the CLI each try
to, and after one busy store the user should not wait for the others."""


def stop_interrupted(database: Database, run_id: str) -> dict[str, Any]:
    """Mark a run that Ctrl-C stopped `interrupted` (resumable) unless it had already
    ended; returns its summary. Raises `StoreError` when the store stayed busy."""
    if run_id in _unrecorded:
        raise StoreError(f"the store was too busy to record that run {run_id} stopped")
    hurried = Repository(Database(database.engine, STOP_PATIENCE_S))
    try:
        with held_interrupts():  # a second Ctrl-C must not cut the write in half
            if hurried.get_run(run_id).status == "running":
                hurried.set_run_status(run_id, "interrupted", STOP_REASON)
            return hurried.run_summary(run_id)
    except StoreError:
        _unrecorded.add(run_id)
        raise


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Delay SIGINT until the block ends (a no-op outside the main thread, which alone
    receives signals). Keep the block short: the user's Ctrl-C waits for it. A second
    Ctrl-C is delivered at once: a busy store can make a write wait for minutes, and
    a user pressing again will not wait."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    # None: a handler installed outside Python; the default is the nearest thing.
    previous = signal.getsignal(signal.SIGINT)
    restore = signal.SIG_DFL if previous is None else previous

    def note(signum: int, frame: FrameType | None) -> None:
        pressed.append(signum)
        if len(pressed) > 1:
            signal.signal(signal.SIGINT, restore)
            signal.raise_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, restore)
        if len(pressed) == 1:
            signal.raise_signal(signal.SIGINT)  # whatever was in place now handles it
