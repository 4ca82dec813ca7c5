"""Tasks from plain folders, so users can bring work without writing a package.

The layouts read here:

* evoforge's own: ``task.toml`` (or ``task.py`` defining ``TASK`` or ``task()``) next to
  ``evaluate.py`` and the seed files;
* OpenEvolve's: ``initial_program.*`` with EVOLVE-BLOCK markers and ``evaluator.py``
  whose ``evaluate(program_path)`` (or ``evaluate_stage1/2/3`` cascade) returns metrics;
  ``config.yaml`` is read key by key (`evoforge.layouts.openevolve_config`);
* GEPA-style evaluators (``evaluate(candidate)`` returning a score or
  ``(score, side_info)``) work in either layout: the harness fills parameters by name,
  and the first one gets the candidate whatever its name. An ``evaluate.py`` that
  imports ``gepa`` is taken at its word: its first parameter gets the candidate's text
  (``candidate_argument = "text"``) unless ``task.toml`` says otherwise.

SkyDiscover/ADRS, its container protocol and ShinkaEvolve have modules of their own
in `evoforge.layouts`; `load_task_folder` tries every layout, most specific first.
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evoforge.task import ArtifactFile, Stage, Task

OPENEVOLVE_THRESHOLDS = [0.5, 0.75, 0.9]
GEPA = ("gepa", "evoforge.gepa")
"""Modules an evaluator written for GEPA imports (`oa.log`)."""


class TaskFolderError(ValueError):
    """A task folder is malformed; the message names the file and the fix."""


LAYOUTS_LOOKED_FOR = (
    "evoforge: task.toml (or task.py) naming the seed files, with evaluate.py",
    "OpenEvolve: initial_program.* next to evaluator.py",
    "SkyDiscover/ADRS: initial_program.* next to evaluator/evaluator.py",
    "ShinkaEvolve: initial.* next to evaluate.py defining main(program_path, results_dir)",
    "container protocol: evaluator/evaluate.sh and evaluator/Dockerfile",
)
"""Every layout `load_task_folder` knows, and what it needs: the error for a folder
matching none lists them all."""


def is_task_folder(path: Path) -> bool:
    from evoforge.layouts import container_protocol, shinka, skydiscover

    return path.is_dir() and (
        (path / "task.toml").is_file()
        or (path / "task.py").is_file()
        or (path / "evaluator.py").is_file()
        or skydiscover.matches(path)
        or container_protocol.matches(path)
        or container_protocol.is_evaluator_folder(path)
        or shinka.matches(path)
    )


def load_task_folder(path: Path, openevolve_config: Path | None = None) -> Task:
    """The task a folder holds, in the first layout it matches (most specific first).

    `openevolve_config` replaces an OpenEvolve or SkyDiscover folder's `config.yaml`
    (a run's `--config config_phase_1.yaml`)."""
    from evoforge.layouts import container_protocol, shinka, skydiscover

    folder = path.resolve()
    if not folder.is_dir():
        raise TaskFolderError(f"{path} is not a folder")
    if container_protocol.is_evaluator_folder(folder):  # FOLDER/evaluator: evaluate.sh chosen
        return container_protocol.load(folder.parent)
    if (folder / "task.toml").is_file():
        return _from_toml(folder)
    if (folder / "task.py").is_file():
        return _from_task_py(folder)
    if (folder / "evaluator.py").is_file():
        return _from_openevolve(folder, config_file=openevolve_config)
    if skydiscover.matches(folder):  # Python evaluator.py: runs without Docker
        return skydiscover.load(folder, openevolve_config)
    if container_protocol.matches(folder):  # evaluate.sh, any language; after SkyDiscover
        return container_protocol.load(folder)  # whose folders carry both
    if shinka.matches(folder):
        return shinka.load(folder)
    raise TaskFolderError(
        f"{folder} matches no task folder layout; add the files of one: "
        + "; ".join(LAYOUTS_LOOKED_FOR)
        + " (the simplest is a task.toml, see docs/writing-tasks.md)"
    )


def read_seed(file: Path) -> str:
    """A seed file's text with its bytes kept: CRLF stays CRLF.

    `Path.read_text` turns CRLF into LF, so the model would be shown, and the
    candidates would carry, another file than the user's; a folder must run unchanged.
    """
    with open(file, encoding="utf-8", newline="") as handle:
        return handle.read()


def _function_names(file: Path) -> set[str]:
    try:
        tree = ast.parse(file.read_text(), filename=str(file))
    except SyntaxError as exc:
        raise TaskFolderError(
            f"{file}:{exc.lineno}: syntax error ({exc.msg}); fix the file and run again"
        ) from exc
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _imports_gepa(reference: str) -> bool:
    """Whether an evaluator file imports gepa: then it is written for GEPA, whose
    evaluators take the candidate's text first, never a path."""
    file = Path(reference.rpartition(":")[0])
    if file.suffix != ".py" or not file.is_file():
        return False
    for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        if any(name == root or name.startswith(f"{root}.") for name in modules for root in GEPA):
            return True
    return False


def _reference(folder: Path, ref: str, where: Path) -> str:
    """Turn ``file.py:function`` into an absolute reference and check the function exists."""
    file_part, sep, func = ref.partition(":")
    if not sep or not func:
        raise TaskFolderError(f"{where}: {ref!r} must look like 'evaluate.py:evaluate'")
    if not file_part.endswith(".py"):
        return ref  # a module reference such as 'my_pkg.scoring:evaluate'
    file = (folder / file_part).resolve()
    if not file.is_file():
        raise TaskFolderError(
            f"{where}: {file_part} does not exist in {folder}; create it or fix the name"
        )
    if func not in _function_names(file):
        raise TaskFolderError(
            f"{file} defines no function {func!r}; add `def {func}(...)` or fix {where.name}"
        )
    return f"{file}:{func}"


def _seed_files(folder: Path, names: list[str], where: Path) -> list[ArtifactFile]:
    files = []
    for name in names:
        file = folder / name
        if not file.is_file():
            raise TaskFolderError(f"{where}: seed file {name} does not exist in {folder}")
        files.append(ArtifactFile(name=name, seed=read_seed(file)))
    return files


def validated_task(data: dict[str, Any], where: Path) -> Task:
    """The task `data` describes, or a `TaskFolderError` naming the field and `where`."""
    try:
        return Task.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "task"
        raise TaskFolderError(f"{where}: {field}: {first['msg']}") from exc


def _from_toml(folder: Path) -> Task:
    where = folder / "task.toml"
    try:
        data = tomllib.loads(where.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise TaskFolderError(f"{where}: not valid TOML ({exc}); fix the syntax") from exc
    names = data.pop("files", None)
    if not names or not isinstance(names, list):
        raise TaskFolderError(f'{where}: add files = ["program.py"] naming the seed file(s)')
    data["files"] = _seed_files(folder, names, where)
    data["evaluate"] = _reference(folder, data.get("evaluate", "evaluate.py:evaluate"), where)
    if "candidate_argument" not in data and _imports_gepa(data["evaluate"]):
        data["candidate_argument"] = "text"
    data["stages"] = [
        {**stage, "function": _reference(folder, stage.get("function", ""), where)}
        for stage in data.get("stages", [])
    ]
    if data.get("public_protocol"):
        data["public_protocol"] = _reference(folder, data["public_protocol"], where)
    instances_file = data.pop("instances_file", None)
    if instances_file:
        import json

        data["instances"] = json.loads((folder / instances_file).read_text())
    data["prompts"] = {**_prompt_files(folder), **data.get("prompts", {})}
    data.setdefault("name", folder.name)
    data.setdefault("python_path", [str(folder)])
    data["source"] = str(folder)
    # A misspelt key would otherwise vanish: the run names it once, as for config.yaml.
    data["settings_ignored"] = sorted(set(data) - set(Task.model_fields))
    return validated_task(data, where)


def _prompt_files(folder: Path) -> dict[str, str]:
    """`prompts/<template>.txt` files: a proposer's prompt templates, by name."""
    found = folder / "prompts"
    if not found.is_dir():
        return {}
    return {path.stem: path.read_text() for path in sorted(found.glob("*.txt"))}


def _from_task_py(folder: Path) -> Task:
    where = folder / "task.py"
    spec = importlib.util.spec_from_file_location(f"evoforge_task_{folder.name}", where)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise TaskFolderError(f"{where} failed to import: {type(exc).__name__}: {exc}") from exc
    found = getattr(module, "TASK", None) or (module.task() if hasattr(module, "task") else None)
    if found is None:
        raise TaskFolderError(f"{where}: define TASK = Task(...) or def task() -> Task")
    data = found.model_dump() if isinstance(found, Task) else dict(found)
    data["evaluate"] = _reference(folder, data["evaluate"], where)
    data["prompts"] = {**_prompt_files(folder), **(data.get("prompts") or {})}
    data.setdefault("python_path", [str(folder)])
    data["source"] = str(folder)
    data.setdefault("name", folder.name)
    return validated_task(data, where)


def _openevolve_config(config: Path) -> dict[str, Any]:
    if not config.is_file():
        return {}
    from evoforge.layouts.openevolve_config import read_yaml

    try:
        return read_yaml(config)
    except ValueError as exc:
        raise TaskFolderError(str(exc)) from exc


def _from_openevolve(
    folder: Path,
    evaluator: Path | None = None,
    config_folder: Path | None = None,
    config_file: Path | None = None,
) -> Task:
    """OpenEvolve's layout; SkyDiscover's (evoforge.layouts.skydiscover) differs only in
    where `evaluator.py` and `config.yaml` sit, so it passes them here. `config_file`
    replaces the folder's `config.yaml` (OpenEvolve's `--config config_phase_1.yaml`)."""
    from evoforge.layouts.openevolve_config import read_settings

    evaluator = evaluator or folder / "evaluator.py"
    programs = sorted(p for p in folder.glob("initial_program.*") if p.is_file())
    if not programs:
        raise TaskFolderError(
            f"{folder} has evaluator.py but no initial_program.*; add the seed program "
            "(OpenEvolve layout) or a task.toml"
        )
    functions = _function_names(evaluator)
    config = _openevolve_config(config_file or (config_folder or folder) / "config.yaml")
    settings = read_settings(config)
    evaluator_cfg = config.get("evaluator", {}) or {}
    stage_names = [f"evaluate_stage{i}" for i in (1, 2, 3)]
    chain: list[str] = []
    for name in stage_names:
        if name not in functions:
            break
        chain.append(name)
    if not chain or evaluator_cfg.get("cascade_evaluation", True) is False:
        if "evaluate" not in functions:
            raise TaskFolderError(f"{evaluator} defines no evaluate(program_path); add one")
        chain = ["evaluate"]
    thresholds = evaluator_cfg.get("cascade_thresholds", OPENEVOLVE_THRESHOLDS)
    stages = [
        Stage(
            name=name,
            function=f"{evaluator}:{name}",
            threshold=thresholds[i] if i < len(thresholds) else None,
        )
        for i, name in enumerate(chain[:-1])
    ]
    data = {
        "name": folder.name,
        "description": f"OpenEvolve task folder {folder.name}",
        "objective": settings.task.get("objective") or "Improve the program's combined_score.",
        "files": [ArtifactFile(name=programs[0].name, seed=read_seed(programs[0]))],
        "evaluate": f"{evaluator}:{chain[-1]}",
        "candidate_argument": "path",
        "stages": stages,
        "metric": "combined_score",
        "python_path": [str(folder)],
        "source": str(folder),
        "score_excludes": settings.task.get("score_excludes", []),
        "features": settings.task.get("features", []),
        "run_defaults": {"run": settings.run, "llm": settings.llm},
        "settings_ignored": settings.ignored,
    }
    if "timeout_s" in settings.task:
        data["resources"] = {"timeout_s": settings.task["timeout_s"]}
    return validated_task(data, evaluator)
