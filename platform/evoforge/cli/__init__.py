"""The `evoforge` console script's entry point, kept free of heavy imports.

Loading the commands takes a second or more on a busy machine; Ctrl-C then must end
with one line and exit 130, not a traceback, so the imports happen inside `main`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `typing`: this module is the first the console script loads
if TYPE_CHECKING:
    from typer import Typer

INTERRUPTED = 130
"""The exit status after Ctrl-C (128 + SIGINT), as shells report a command it stopped."""

_told: list[str] = []

BEFORE_COMMAND: dict[str, str] = {}
"""By command name, the line for Ctrl-C pressed before the command's own code began
(typer was still reading its options); registered by commands that report Ctrl-C."""


def say_interrupted(line: str) -> None:
    """Print a command's own line about Ctrl-C; `run_commands` then adds none."""
    _told.append(line)
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


STARTING = "interrupted while evoforge was starting; nothing was stored"


def main() -> None:
    """The console script: load the commands, then run them."""
    try:
        from evoforge.cli.app import app
    except KeyboardInterrupt:
        say_interrupted(STARTING)
        raise SystemExit(INTERRUPTED) from None
    run_commands(app)


def run_commands(app: Typer) -> None:
    """Run the command line, so that a Ctrl-C no command reported itself (typer turns
    it into a silent exit 130) still gets one line, and never a traceback."""
    try:
        app()
    except KeyboardInterrupt:  # typer catches it in commands: this came while it set up
        say_interrupted(STARTING)
        raise SystemExit(INTERRUPTED) from None
    except SystemExit as done:
        if done.code == INTERRUPTED and not _told:
            say_interrupted(BEFORE_COMMAND.get(_command_name(), "interrupted"))
        raise


def _command_name() -> str:
    """The command given on the command line (`evoforge` itself takes no options)."""
    return next((word for word in sys.argv[1:] if not word.startswith("-")), "")
