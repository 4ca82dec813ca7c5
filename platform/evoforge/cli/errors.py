"""How every `evoforge` command reports a mistake: one red line, exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from evoforge.config import ConfigError
from evoforge.export import ExportError
from evoforge.folder_tasks import TaskFolderError
from evoforge.orchestrator.seed_check import SeedUnusable
from evoforge.plugin_manager import PluginError
from evoforge.proposals import ProposerUnavailable
from evoforge.protocols import ExecutorUnavailable, SandboxUnavailable
from evoforge.store.errors import StoreError

err_console = Console(stderr=True)

USER_ERRORS: tuple[type[Exception], ...] = (
    PluginError,
    TaskFolderError,
    ConfigError,
    StoreError,
    ExportError,
    SandboxUnavailable,
    ExecutorUnavailable,
    ProposerUnavailable,
    SeedUnusable,
)
"""Errors whose message already names the fix: printed as they are, never a traceback."""

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def guard(call: Callable[[], T]) -> T:
    """Run `call`, turning a user-facing error into `fail`'s one line."""
    try:
        return call()
    except USER_ERRORS as exc:
        fail(str(exc))
