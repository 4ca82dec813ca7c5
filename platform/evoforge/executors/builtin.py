"""Registers the built-in executors through the public hook."""

from __future__ import annotations

from evoforge.executors.local import LocalExecutor
from evoforge.hookspecs import hookimpl


@hookimpl
def evoforge_executors() -> list[type]:
    return [LocalExecutor]
