"""SkyDiscover / ADRS benchmark folders (skydiscover-ai/skydiscover `benchmarks/`).

The layout::

    txn_scheduling/
      initial_program.py     # the seed, with EVOLVE-BLOCK-START/END
      config.yaml            # prompt.system_message, evaluator.cascade_* and timeout
      evaluator/
        evaluator.py         # evaluate(program_path), or evaluate_stage1/2/3
        txn_simulator.py     # sibling modules the evaluator and the candidate import
        evaluate.sh, Dockerfile, wrapper.py, requirements.txt

In SkyDiscover's container everything in `evaluator/` sits in one folder with the
candidate, so both import its modules. Here `evaluator/` is on the sandbox's import
path (read-only, as every host path is in the sandbox) and the harness adds the
candidate's own folder after it. Stages, thresholds, the system message and the
timeout are read exactly as for OpenEvolve folders, by the same function.

Ignored: `evaluate.sh`, `Dockerfile`, `wrapper.py`'s command line and
`requirements.txt` (this is the Python route: the evaluator's imports must be
installed where evoforge runs), and config.yaml's `llm`, search and iteration
settings (evoforge's own run options decide those).
"""

from __future__ import annotations

from pathlib import Path

from evoforge.folder_tasks import _from_openevolve
from evoforge.task import Task

EVALUATOR_FOLDER = "evaluator"
NEEDS = "initial_program.* next to evaluator/evaluator.py (config.yaml optional)"


def matches(folder: Path) -> bool:
    return (folder / EVALUATOR_FOLDER / "evaluator.py").is_file()


def load(folder: Path, config_file: Path | None = None) -> Task:
    evaluator_folder = folder / EVALUATOR_FOLDER
    # config.yaml sits beside the seed in SkyDiscover's benchmarks; accept it in
    # evaluator/ too, where some copies of the layout keep it.
    config_folder = folder if (folder / "config.yaml").is_file() else evaluator_folder
    task = _from_openevolve(
        folder,
        evaluator=evaluator_folder / "evaluator.py",
        config_folder=config_folder,
        config_file=config_file,
    )
    return task.model_copy(
        update={
            "description": f"SkyDiscover benchmark folder {folder.name}",
            # Not the task folder itself: its seed initial_program.py would shadow the
            # candidate for an evaluator that imports it by name.
            "python_path": [str(evaluator_folder)],
        }
    )
