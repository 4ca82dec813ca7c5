"""A task's public protocol in a run: the public benchmark's instances, read once at
the orchestrator and kept with the run's task like any other split.

A task that mirrors a public benchmark names a loader (`Task.public_protocol`); its
evaluator applies the public rules to those instances and reports the public score. A
run asks for it in one of two ways:

- `public` (by default wherever the task has a protocol and its data is found):
  scored at the end like the held-out test split (the seed, the best on training and
  the best on validation), so the run says where it stands on the benchmark beside
  its own score;
- `train_on = "public"`: the search itself is judged on the public instances, as
  published results are evolved, and the task's own splits, reference and baseline
  figures (on another scale) are set aside.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from evoforge.public_data import PublicDataMissing
from evoforge.task import Baseline, Task


class PublicProtocolError(ValueError):
    """The run asked for a public protocol the task does not have or cannot load."""


def protocols(task: Task) -> dict[str, str]:
    """Every public protocol of the task by the name a run gives it: `public` for the
    main one, `public:NAME` for a further one (spot_scheduling's `public:multi_region`)."""
    named = {"public": task.public_protocol} if task.public_protocol else {}
    named.update({f"public:{name}": loader for name, loader in task.public_protocols.items()})
    return named


def load_public_instances(task: Task, protocol: str = "public") -> list[Any]:
    """The instances of one of the task's public protocols, or a one-line error naming
    the fix."""
    offered = protocols(task)
    if protocol not in offered:
        if not offered:
            raise PublicProtocolError(
                f"task {task.name!r} has no public protocol; drop --public / --train-on public"
            )
        raise PublicProtocolError(
            f"task {task.name!r} has no protocol {protocol!r}; it offers {', '.join(offered)}"
        )
    loader = _function(offered[protocol])
    try:
        instances = loader()
    except PublicDataMissing as missing:
        raise PublicProtocolError(f"{task.name}'s {protocol} protocol: {missing}") from None
    if not isinstance(instances, list) or not instances:
        raise PublicProtocolError(
            f"{offered[protocol]} returned no instances; a public protocol needs a list"
        )
    return instances


def with_public(task: Task, public: bool | None, train_on: str) -> Task:
    """The task as the run keeps it: public instances attached as a split to score at
    the end (`public`: True requires them, None takes them where the task has a
    protocol and its data is found, False never), or put in place of the training
    instances (`train_on`: `public` or `public:NAME`)."""
    if train_on.startswith("public"):
        return _trained_on(task, train_on)
    if train_on != "own":
        raise PublicProtocolError(f"train_on {train_on!r}: choose own, public or public:NAME")
    if public is False or (public is None and not task.public_protocol):
        return task
    try:
        instances = load_public_instances(task)
    except PublicProtocolError:
        if public:  # asked for by name: say why it cannot be had
            raise
        return task  # unset: a machine without the public data runs as before
    return task.model_copy(update={"public_instances": instances})


def _trained_on(task: Task, protocol: str) -> Task:
    """The task judged on one public protocol: its instances for training, the
    baselines' figures on that protocol as their training scores (a baseline's
    `scores[protocol]`), and the task's own splits, reference and cascade set aside."""
    instances = load_public_instances(task, protocol)
    public_baselines = [
        baseline.model_copy(update={"scores": {"train": baseline.scores[protocol]}})
        for baseline in task.baselines
        if protocol in baseline.scores
    ]
    first = _public_reference(task, public_baselines, protocol)
    return task.model_copy(
        update={
            "instances": instances,
            # The task's cascade checks its own instances by its own rules, which may
            # refuse what the public rules allow.
            "stages": [],
            "validation_instances": None,
            "test_instances": None,
            "public_instances": None,
            "reference_score": first.scores["train"] if first else None,
            "reference_note": f"the {first.name} baseline on the {protocol} protocol"
            if first
            else "",
            "baselines": public_baselines,
            "trained_on_public": protocol,
        }
    )


def _public_reference(task: Task, public: list[Baseline], protocol: str) -> Baseline | None:
    """The bar a public search is read against: the public benchmark's own baseline
    (one the task documents only there), else the public figure of the baseline that is
    the task's own reference, else the first with a public figure."""
    own = {b.name for b in task.baselines if set(b.scores) == {protocol}}
    reference = {b.name for b in task.baselines if b.scores.get("train") == task.reference_score}
    for wanted in (own, reference):
        found = next((b for b in public if b.name in wanted), None)
        if found:
            return found
    return public[0] if public else None


def _function(reference: str) -> Any:
    """`package.module:function` or `/path/file.py:function`, imported here: a loader
    is the task's own code, run by the orchestrator like its plugin hook."""
    where, _, name = reference.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        spec = importlib.util.spec_from_file_location(f"evoforge_public_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise PublicProtocolError(f"cannot load the public protocol's loader {reference}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    loader = getattr(module, name, None)
    if not callable(loader):
        raise PublicProtocolError(f"{reference} names no function")
    return loader
