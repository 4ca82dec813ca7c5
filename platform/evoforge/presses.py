"""Whether Ctrl-C was pressed during a run, for code that must not wait on through it.

Inside `asyncio.run` the first Ctrl-C raises nothing: asyncio's handler cancels the
main task, which takes effect at its next `await`. A run's store writes are plain
calls, and one that waits out a locked store retries for minutes without reaching an
`await`, so the user's Ctrl-C would wait with it. `noting_presses` records each press
and then hands it to whatever handled it before; `Retrier` asks `pressed` between
tries and gives up. The record is cleared when the block ends, so the writes that
mark the run stopped, made after it, wait out the store with their own (short)
patience.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["noting_presses", "pressed"]

_presses: list[int] = []
"""The presses noted inside the current `noting_presses` block."""


def pressed() -> bool:
    """Whether Ctrl-C was pressed inside the `noting_presses` block now running."""
    return bool(_presses)


@contextmanager
def noting_presses() -> Iterator[None]:
    """Note every SIGINT while the block runs, then let the handler in place act on it.

    A no-op outside the main thread, which alone receives signals, and while SIGINT is
    ignored or left to the system (nothing in Python would see the press)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return

    def note(signum: int, frame: FrameType | None) -> None:
        _presses.append(signum)
        previous(signum, frame)

    _presses.clear()
    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        _presses.clear()
        if signal.getsignal(signal.SIGINT) is note:
            signal.signal(signal.SIGINT, previous)
