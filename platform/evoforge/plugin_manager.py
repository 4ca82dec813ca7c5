"""Load plugins and look up what they registered.

Built-ins and third-party packages arrive the same way, through the ``evoforge``
entry-point group, so `evoforge plugins` shows both and neither is special-cased.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Any

import pluggy

from evoforge import hookspecs
from evoforge.protocols import describe
from evoforge.task import Task


class PluginError(RuntimeError):
    """A plugin failed to load or registered something malformed."""


@dataclass
class LoadedPlugin:
    name: str
    source: str
    distribution: str


@dataclass
class Registry:
    """Everything the loaded plugins registered, by name."""

    manager: pluggy.PluginManager
    plugins: list[LoadedPlugin] = field(default_factory=list)

    def _collect(self, hook_name: str, kind: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        origins: dict[str, str] = {}
        hook = getattr(self.manager.hook, hook_name)
        for impl in hook.get_hookimpls():
            origin = impl.plugin_name
            try:
                items = impl.function() or []
            except Exception as exc:  # a broken plugin must name itself
                raise PluginError(
                    f"plugin {origin!r} failed in {hook_name}: {exc}. "
                    "Fix that plugin or uninstall the package that provides it."
                ) from exc
            for item in items:
                name = getattr(item, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(
                        f"plugin {origin!r} registered a {kind} without a name ({describe(item)}); "
                        "give it a non-empty `name`."
                    )
                if name in found:
                    raise PluginError(
                        f"{kind} {name!r} is registered twice: by {origins[name]!r} "
                        f"and {origin!r}; "
                        "rename one of them."
                    )
                found[name] = item
                origins[name] = origin
        return found

    def tasks(self) -> dict[str, Task]:
        return self._collect("evoforge_tasks", "task")

    def proposers(self) -> dict[str, Any]:
        return self._collect("evoforge_proposers", "proposer")

    def strategies(self) -> dict[str, Any]:
        return self._collect("evoforge_search_strategies", "search strategy")

    def sandboxes(self) -> dict[str, Any]:
        return self._collect("evoforge_sandboxes", "sandbox")

    def executors(self) -> dict[str, Any]:
        return self._collect("evoforge_executors", "executor")

    def lookup(self, kind: str, name: str) -> Any:
        table = getattr(self, kind)()
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise PluginError(f"unknown {kind[:-1]} {name!r}; known: {known}")
        return table[name]


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=hookspecs.PROJECT), key=lambda ep: ep.name)


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    if os.environ.get("EVOFORGE_TRACE"):
        manager.trace.root.setwriter(lambda line: sys.stderr.write(line))
        manager.enable_tracing()
    return manager


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The process-wide registry, loaded once from the entry points."""
    manager = _new_manager()
    reg = Registry(manager)
    for ep in _entry_points():
        try:
            module = ep.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {ep.name!r} ({ep.value}) failed to import: {type(exc).__name__}: {exc}. "
                "Fix the module or uninstall the package that provides it."
            ) from exc
        if manager.is_registered(module):
            continue
        try:
            manager.register(module, name=ep.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {ep.name!r} ({ep.value}) is malformed: {exc}") from exc
        dist = ep.dist.name if ep.dist is not None else "?"
        reg.plugins.append(LoadedPlugin(ep.name, ep.value, dist))
    return reg


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register an in-process plugin (tests, notebooks, the CLI's progress display)."""
    manager = registry().manager
    if not manager.is_registered(plugin):
        manager.register(plugin, name=name)


def unregister_plugin(plugin: object) -> None:
    manager = registry().manager
    if manager.is_registered(plugin):
        manager.unregister(plugin)
