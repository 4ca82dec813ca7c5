"""Distributed evaluation on Celery: the `celery` executor and `evoforge worker`.

Registered through the `evoforge` entry-point group like any third-party executor;
Celery itself is imported only when a run or a worker uses it.
"""

from __future__ import annotations

from evoforge.executors.distributed.executor import CeleryExecutor
from evoforge.hookspecs import hookimpl

__all__ = ["CeleryExecutor"]


@hookimpl
def evoforge_executors() -> list[type]:
    return [CeleryExecutor]
