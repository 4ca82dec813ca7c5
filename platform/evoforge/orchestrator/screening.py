"""Turning a strategy's `Screen` into the cascade stage a child's job runs first."""

from __future__ import annotations

from typing import Any

from evoforge.proposals import SCREEN_STAGE
from evoforge.protocols import Screen
from evoforge.task import Stage, Task


def instance_key(instance: Any, index: int) -> str:
    """The key an evaluator reports an instance's score under: its `id` where it has
    one (the built-in tasks), else its position (the harness's per-example mode)."""
    if isinstance(instance, dict) and "id" in instance:
        return str(instance["id"])
    return str(index)


def minibatch_stage(task: Task, screen: Screen) -> Stage | None:
    """The stage judging the screen's instances, or None where they cannot be found
    among the task's training instances (the child then gets the full set)."""
    by_key = {instance_key(item, i): item for i, item in enumerate(task.instances or [])}
    chosen = [by_key[key] for key in screen.instances if key in by_key]
    if not screen.instances or len(chosen) != len(screen.instances):
        return None
    return Stage(
        name=SCREEN_STAGE, function=task.evaluate, threshold=screen.floor, instances=chosen
    )
