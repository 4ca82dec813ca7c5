"""Plugins: built-ins and third-party code register the same way; broken ones say so."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from evoforge import plugin_manager
from evoforge.hookspecs import hookimpl
from evoforge.plugin_manager import PluginError, register_plugin, registry, unregister_plugin
from evoforge.task import ArtifactFile, Task


@pytest.fixture(autouse=True)
def fresh_registry():
    registry.cache_clear()
    yield
    registry.cache_clear()


class ThirdPartyTasks:
    @hookimpl
    def evoforge_tasks(self) -> list[Task]:
        return [
            Task(
                name="third_party_task",
                files=[ArtifactFile(name="p.py", seed="X = 1\n")],
                evaluate="some_pkg.scoring:evaluate",
            )
        ]


def test_builtins_arrive_through_the_entry_point_group() -> None:
    reg = registry()
    names = {p.name for p in reg.plugins}
    assert {"mutate", "process", "circle_packing", "builtin_search"} <= names
    assert all(p.distribution == "evoforge" for p in reg.plugins)
    assert "circle_packing" in reg.tasks()


def test_a_registered_plugin_task_is_listed_next_to_builtins() -> None:
    plugin = ThirdPartyTasks()
    register_plugin(plugin, name="third-party")
    try:
        assert {"third_party_task", "circle_packing"} <= set(registry().tasks())
    finally:
        unregister_plugin(plugin)


def test_two_plugins_claiming_one_name_is_an_error_naming_both() -> None:
    first, second = ThirdPartyTasks(), ThirdPartyTasks()
    register_plugin(first, name="first-pkg")
    register_plugin(second, name="second-pkg")
    try:
        with pytest.raises(PluginError, match="first-pkg.*second-pkg|second-pkg.*first-pkg"):
            registry().tasks()
    finally:
        unregister_plugin(first)
        unregister_plugin(second)


def test_broken_entry_point_names_itself_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = metadata.EntryPoint(name="broken", value="no_such_module_xyz", group="evoforge")
    monkeypatch.setattr(plugin_manager, "_entry_points", lambda: [broken])
    with pytest.raises(PluginError, match=r"'broken' \(no_such_module_xyz\).*uninstall"):
        registry()


def test_trace_switch_prints_hook_calls(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("EVOFORGE_TRACE", "1")
    registry().manager.hook.evoforge_tasks()
    assert "evoforge_tasks" in capsys.readouterr().err


def test_platform_folder_never_shadows_the_standard_library() -> None:
    import platform

    assert Path(platform.__file__).name == "platform.py"
    assert "evoforge" not in platform.__file__
