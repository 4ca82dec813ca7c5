"""Where commands print: tables fit a terminal, and are never cut when piped."""

from __future__ import annotations

from rich.console import Console

PIPED_WIDTH = 10_000
"""Columns a table may take when stdout is a pipe or a file: far wider than any row, so
Rich draws each table at its content's own width and cuts or folds nothing."""


def stdout_console() -> Console:
    """A console for a command's output. On a terminal Rich fits each table to the window;
    piped, it would fit them to 80 columns, folding task names and cutting values to
    `child…` or `$0.00…`, so a script or a saved report gets every value whole instead."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)
