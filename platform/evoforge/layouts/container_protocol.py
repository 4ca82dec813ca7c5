"""Task folders in SkyDiscover's container protocol: `initial_program.*` + `evaluator/evaluate.sh`.

The folder a SkyDiscover (ADRS) benchmark ships::

    initial_program.py          the seed; EVOLVE-BLOCK markers are honoured
    config.yaml                 optional: read as an OpenEvolve config.yaml
    evaluator/Dockerfile        builds the image evaluate.sh runs in
    evaluator/evaluate.sh       evaluate.sh PROGRAM_PATH [MODE] -> one JSON object
    evaluator/...               whatever evaluate.sh needs (evaluator.py, data, ...)

The task's `evaluate` is the protocol bridge (sandboxes/script_protocol.py), its image
is the one `evoforge sandbox build FOLDER` builds (sandboxes/task_images.py), its
metric is `combined_score`, and its held-out split is one instance, `"test"`: at the
end of a run the best candidates are scored again with MODE=test, the authoritative
evaluation SkyDiscover runs at publish time; every evaluation during the search
passes MODE=train.

When `evaluator/` also holds a Python `evaluator.py` (all of SkyDiscover's own
benchmarks: their evaluate.sh only calls it through SkyDiscover's wrapper), `evoforge
run FOLDER` reads it through the SkyDiscover Python layout (evoforge.layouts.skydiscover)
instead: that route runs under either sandbox with no image to build, while these
benchmarks' evaluate.sh scripts call `/benchmark/evaluator.py`, a path that exists only
inside their image. `evoforge run FOLDER/evaluator` chooses evaluate.sh and the image
(with the docker sandbox, the benchmark's own dependencies), as SkyDiscover's command
line does when given the evaluator folder. A folder whose evaluator is the script
itself (any language) is read here either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evoforge.folder_tasks import TaskFolderError, read_seed, validated_task
from evoforge.layouts.openevolve_config import OpenEvolveSettings, read_settings, read_yaml
from evoforge.sandboxes.script_protocol import SCRIPT_ENV, SCRIPT_EVALUATE
from evoforge.sandboxes.task_images import evaluator_folder, task_image_tag
from evoforge.task import ArtifactFile, Task


class ScriptFolderError(TaskFolderError):
    """A container-protocol folder is malformed; the message names the file and the fix."""


NEEDS = "initial_program.* next to evaluator/evaluate.sh (and evaluator/Dockerfile for docker)"


def matches(folder: Path) -> bool:
    return (evaluator_folder(folder) / "evaluate.sh").is_file()


def is_evaluator_folder(path: Path) -> bool:
    """`FOLDER/evaluator` itself, given to `evoforge run`: the script route, chosen.

    As in SkyDiscover, whose command line takes `evaluator/` for the container route
    and `evaluator.py` for the Python one, naming the evaluator folder picks
    evaluate.sh even where an `evaluator.py` beside it would be read first.
    """
    return (
        path.name == "evaluator"
        and (path / "evaluate.sh").is_file()
        and any(p.is_file() for p in path.parent.glob("initial_program.*"))
    )


def _settings(folder: Path) -> OpenEvolveSettings:
    """config.yaml read as for OpenEvolve folders: its run options apply, its
    cascade settings have no meaning here (the script is the whole evaluation)."""
    config = folder / "config.yaml"
    if not config.is_file():
        return read_settings({})
    try:
        return read_settings(read_yaml(config))
    except ValueError as exc:
        raise ScriptFolderError(str(exc)) from exc


def load(path: Path) -> Task:
    """The task of a container-protocol folder; see the module's docstring for the mapping."""
    folder = path.resolve()
    script = evaluator_folder(folder) / "evaluate.sh"
    programs = sorted(p for p in folder.glob("initial_program.*") if p.is_file())
    if not programs:
        raise ScriptFolderError(
            f"{folder} has evaluator/evaluate.sh but no initial_program.*; add the seed program"
        )
    settings = _settings(folder)
    resources: dict[str, Any] = {"image": task_image_tag(folder)}
    if "timeout_s" in settings.task:
        resources["timeout_s"] = settings.task["timeout_s"]
    data = {
        "name": folder.name,
        "description": f"container-protocol task folder {folder.name} (evaluator/evaluate.sh)",
        "objective": settings.task.get("objective") or "Improve the program's combined_score.",
        "files": [ArtifactFile(name=programs[0].name, seed=read_seed(programs[0]))],
        "evaluate": SCRIPT_EVALUATE,
        "metric": "combined_score",
        "test_instances": ["test"],
        "resources": resources,
        "env": {SCRIPT_ENV: str(script)},
        "source": str(folder),
        "run_defaults": {"run": settings.run, "llm": settings.llm},
        "settings_ignored": settings.ignored,
    }
    return validated_task(data, folder)
