"""ShinkaEvolve task folders (SakanaAI/ShinkaEvolve `examples/`).

The layout::

    circle_packing/
      initial.py      # the seed (any language: initial.f90, initial.jl ...), EVOLVE-BLOCKs
      evaluate.py     # main(program_path, results_dir) calling shinka.core.run_shinka_eval
      run_evo.py      # how ShinkaEvolve is launched; its *_sys_msg string is the objective

`evaluate.py` runs unchanged in the sandbox: `from shinka.core import run_shinka_eval`
gets evoforge's stand-in when ShinkaEvolve is not installed
(evoforge.sandboxes.shinka_shim), and `main` is called with the candidate's path and
a fresh `results_dir` inside the candidate's writable work folder. The score is the
`combined_score` that run_shinka_eval returns, `text_feedback` is the feedback the
proposer sees, `public` metrics are shown with it, `private` ones are stored only,
and `correct: false` makes the candidate invalid with its error.

Read statically, never run: `run_evo.py` is parsed for a module-level string named
`*sys_msg*`. Ignored: ShinkaEvolve's YAML configs (islands, models, budgets: evoforge's
own run options decide those), `metrics.json` and `correct.json` as files (the
result travels back in memory, so a candidate cannot forge them), plotting and
`extra.npz`/`extra.pkl` side files.
"""

from __future__ import annotations

import ast
from pathlib import Path

from evoforge.folder_tasks import TaskFolderError, _function_names, read_seed, validated_task
from evoforge.sandboxes.shinka_shim import EVALUATOR_ENV
from evoforge.task import ArtifactFile, Task

NEEDS = "initial.* next to evaluate.py defining main(program_path, results_dir)"
WRAPPER = "evoforge.sandboxes.shinka_shim:evaluate_shinka_main"


def _seeds(folder: Path) -> list[Path]:
    found = sorted(p for p in folder.glob("initial.*") if p.is_file())
    # initial.py first: a folder may keep a notebook or README beside the seed.
    return sorted(found, key=lambda p: p.suffix != ".py")


def matches(folder: Path) -> bool:
    return (folder / "evaluate.py").is_file() and bool(_seeds(folder))


def _system_message(folder: Path) -> str:
    """ShinkaEvolve puts the task prompt in run_evo.py as `task_sys_msg = "..."`."""
    launcher = folder / "run_evo.py"
    if not launcher.is_file():
        return ""
    try:
        tree = ast.parse(launcher.read_text())
    except (SyntaxError, UnicodeDecodeError):
        return ""  # the launcher is ShinkaEvolve's business; it only lends the prompt
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
            continue
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if any("sys_msg" in name for name in names) and isinstance(node.value.value, str):
            return node.value.value.strip()
    return ""


def _result_reaches_evoforge(evaluate: Path) -> bool:
    """Whether main's result can come back in memory: it calls run_shinka_eval, or
    `main` returns a value. Many ShinkaEvolve examples instead write metrics.json
    themselves, a file the candidate could write too."""
    tree = ast.parse(evaluate.read_text(), filename=str(evaluate))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "run_shinka_eval":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "run_shinka_eval":
            return True
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return any(isinstance(n, ast.Return) and n.value for n in ast.walk(node))
    return False


def load(folder: Path) -> Task:
    evaluate = folder / "evaluate.py"
    if "main" not in _function_names(evaluate):
        raise TaskFolderError(
            f"{evaluate} defines no main(program_path, results_dir); add one that calls "
            "run_shinka_eval (ShinkaEvolve layout) or a task.toml"
        )
    if not _result_reaches_evoforge(evaluate):
        raise TaskFolderError(
            f"{evaluate}: main() writes its result only to files, which evoforge never "
            "reads (the candidate could write them too); call run_shinka_eval, or end "
            "main with `return metrics, correct, error`"
        )
    seed = _seeds(folder)[0]
    data = {
        "name": folder.name,
        "description": f"ShinkaEvolve task folder {folder.name}",
        "objective": _system_message(folder) or "Improve the program's combined_score.",
        "files": [ArtifactFile(name=seed.name, seed=read_seed(seed))],
        "evaluate": WRAPPER,
        "metric": "combined_score",
        # evaluate.py runs as a script in ShinkaEvolve, so its folder is on the path.
        "python_path": [str(folder)],
        "env": {EVALUATOR_ENV: str(evaluate)},
        "source": str(folder),
    }
    return validated_task(data, evaluate)
