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


class RecordingTracker:
    def __init__(self) -> None:
        self.evaluated: list[str] = []
        self.bests: list[float] = []
        self.finished: list[dict] = []

    @hookimpl
    def evoforge_candidate_evaluated(self, run_id, candidate, outcome) -> None:
        self.evaluated.append(outcome.status)

    @hookimpl
    def evoforge_new_best(self, run_id, candidate, outcome) -> None:
        self.bests.append(outcome.score)

    @hookimpl
    def evoforge_run_finished(self, run_id, summary) -> None:
        self.finished.append(summary)


def test_tracker_plugins_receive_every_evaluation_each_new_best_and_the_end(db_url: str) -> None:
    from evoforge.api import run_task

    tracker = RecordingTracker()
    register_plugin(tracker, name="tracker")
    try:
        outcome = run_task("circle_packing", db=db_url, max_evaluations=10, seed=1)
    finally:
        unregister_plugin(tracker)
    assert len(tracker.evaluated) == 10
    assert tracker.bests == sorted(tracker.bests) and tracker.bests[-1] == outcome.best_score
    assert [s["run_id"] for s in tracker.finished] == [outcome.run_id]


class BrokenTracker:
    @hookimpl
    def evoforge_candidate_evaluated(self, run_id, candidate, outcome) -> None:
        raise RuntimeError("tracker bug")


def test_a_failing_tracker_does_not_stop_the_run(db_url: str) -> None:
    from evoforge.api import run_task

    tracker = BrokenTracker()
    register_plugin(tracker, name="broken-tracker")
    try:
        outcome = run_task("circle_packing", db=db_url, max_evaluations=4, seed=1)
    finally:
        unregister_plugin(tracker)
    assert outcome.summary["evaluations"]["total"] == 4
