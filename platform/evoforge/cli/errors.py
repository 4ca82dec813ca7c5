"""How every `evoforge` command reports a mistake: one red line, exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

err_console = Console(stderr=True)

USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("evoforge.plugin_manager", "PluginError"),
    ("evoforge.folder_tasks", "TaskFolderError"),
    ("evoforge.config", "ConfigError"),
    ("evoforge.store.errors", "StoreError"),
    ("evoforge.export", "ExportError"),
    ("evoforge.protocols", "SandboxUnavailable"),
    ("evoforge.protocols", "ExecutorUnavailable"),
    ("evoforge.proposals", "ProposerUnavailable"),
    ("evoforge.orchestrator.seed_check", "SeedUnusable"),
    ("evoforge.public_protocol", "PublicProtocolError"),
)
"""Errors whose message already names the fix, as (module, class): printed as they are,
never a traceback. Named rather than imported so that `--help` does not pay for
SQLAlchemy and pydantic through the modules that define them."""

T = TypeVar("T")


def user_error_types() -> tuple[type[Exception], ...]:
    """The classes of `USER_ERRORS` whose modules are loaded. An error can only have been
    raised by a loaded module, so this is complete without importing anything."""
    return tuple(
        getattr(sys.modules[module], name)
        for module, name in USER_ERRORS
        if hasattr(sys.modules.get(module), name)
    )


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def guard(call: Callable[[], T]) -> T:
    """Run `call`, turning a user-facing error into `fail`'s one line."""
    try:
        return call()
    except Exception as exc:
        if isinstance(exc, user_error_types()):
            fail(str(exc))
        raise


def refuse_absent_store(db: str | None, run_id: str) -> None:
    """Commands that need an existing run stop at a SQLite path holding no store, before
    opening it would create an empty one there (a mistyped --db must leave no file)."""
    from evoforge.store.database import absent_store

    absent = guard(lambda: absent_store(db))
    if absent:
        fail(
            f"no evoforge store at {absent}, so no run {run_id}; pass the --db the run "
            "wrote to (default: .evoforge/evoforge.db in the folder it ran in)"
        )
