"""An `optimize_anything` call as an evoforge run, and its outcome as GEPA's result.

GEPA holds the seed, evaluator and data in memory; evoforge stores a run so it can be
resumed and browsed, and evaluates in a sandbox process. So each argument becomes
part of a `Task`: the seed becomes files (`candidate.txt` for a string, one
`<component>.txt` per key of a dict), the evaluator a `file.py:name` reference, the
dataset, valset and test set the task's training, validation and test instances.
"""

from __future__ import annotations

import json
import os
import sys
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evoforge.api import run_task
from evoforge.config import ConfigError, model_proposer_options
from evoforge.gepa.config import run_options
from evoforge.store.database import open_database
from evoforge.store.repository import Repository
from evoforge.task import ArtifactFile, Task

STRING_FILE = "candidate.txt"
"""The file a plain-string seed is kept in (GEPA's `current_candidate`)."""


@dataclass(frozen=True)
class OptimizeAnythingResult:
    """What GEPA's `GEPAResult` offers a script, plus where the run is kept.

    `best_candidate` has the seed's shape (a string, or component -> text);
    `best_score` is its validation score when a valset was given (GEPA selects on
    validation), else its training score.
    """

    best_candidate: str | dict[str, str]
    best_score: float | None
    run_id: str
    total_metric_calls: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def total_evals(self) -> int:
        """GEPA's newer name for the evaluation count."""
        return self.total_metric_calls


class EvaluatorNotImportable(ValueError):
    """The evaluator cannot be found again by the sandbox process."""


def evaluator_reference(evaluator: Any) -> tuple[str, str]:
    """(`/abs/script.py:name` or `package.module:name`, the folder to put on the path).

    The sandbox imports the evaluator afresh, so only a function defined at the top
    level of a `.py` file can be sent: everything else is refused with the fix.
    """
    fix = "define it with `def evaluate(candidate, ...)` at the top level of your script"
    if not isinstance(evaluator, types.FunctionType):
        raise EvaluatorNotImportable(
            f"evaluator must be a plain function, not {type(evaluator).__name__}; {fix}"
        )
    name, qualname = evaluator.__name__, evaluator.__qualname__
    if name == "<lambda>":
        raise EvaluatorNotImportable(
            f"evaluator is a lambda, which the sandbox cannot import; {fix}"
        )
    if "<locals>" in qualname:
        raise EvaluatorNotImportable(
            f"evaluator {qualname} is defined inside a function, so the sandbox cannot "
            f"import it; move it to the top level of its file"
        )
    file = Path(evaluator.__code__.co_filename)
    module = sys.modules.get(evaluator.__module__)
    if file.suffix != ".py" or not file.is_file():
        raise EvaluatorNotImportable(
            f"evaluator {name} is not defined in a .py file (a notebook or the REPL?); "
            "put it in a .py file and import it from there"
        )
    if module is None or getattr(module, qualname, None) is not evaluator:
        raise EvaluatorNotImportable(
            f"evaluator {qualname} is not reachable as {qualname} at the top level of {file}; {fix}"
        )
    file = file.resolve()
    if evaluator.__module__ == "__main__":
        return f"{file}:{qualname}", str(file.parent)
    root = file.parent
    for _ in range(evaluator.__module__.count(".") + (file.name == "__init__.py")):
        root = root.parent
    return f"{evaluator.__module__}:{qualname}", str(root)


def seed_files(seed: Any) -> tuple[list[ArtifactFile], str]:
    """The seed as files, and how the evaluator's first parameter receives them."""
    if isinstance(seed, str):
        return [ArtifactFile(name=STRING_FILE, seed=seed)], "text"
    if isinstance(seed, dict) and seed:
        files = []
        for name, text in seed.items():
            if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
                raise ValueError(
                    f"seed_candidate component {name!r} cannot name a file; use names "
                    "such as 'system_prompt'"
                )
            if not isinstance(text, str):
                raise ValueError(
                    f"seed_candidate[{name!r}] must be text, not {type(text).__name__}"
                )
            files.append(ArtifactFile(name=f"{name}.txt", seed=text))
        return files, "components"
    if seed is None:
        raise ValueError(
            "evoforge needs a seed_candidate to start from (GEPA's seedless mode is not "
            "supported); pass a first draft, even a short one"
        )
    raise ValueError(
        f"seed_candidate must be a string or a dict of component name -> text, "
        f"not {type(seed).__name__}"
    )


def _data(items: list[Any] | None, what: str) -> list[Any] | None:
    """Examples as JSON data, the only form that reaches the sandbox and the store."""
    if items is None:
        return None
    try:
        return json.loads(json.dumps(list(items)))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{what} must hold JSON data (dicts, lists, strings, numbers) to reach the "
            f"sandbox: {exc}"
        ) from None


def build_task(
    seed: Any,
    evaluator: Any,
    *,
    dataset: list[Any] | None,
    valset: list[Any] | None,
    test_set: list[Any] | None,
    objective: str | None,
    background: str | None,
    name: str | None,
) -> Task:
    reference, folder = evaluator_reference(evaluator)
    files, argument = seed_files(seed)
    script = Path(evaluator.__code__.co_filename).resolve()
    return Task(
        name=name or script.stem,
        description=f"optimize_anything from {script.name}",
        objective=objective or "",
        background=background or "",
        files=files,
        evaluate=reference,
        candidate_argument=argument,  # type: ignore[arg-type]
        instances=_data(dataset, "dataset"),
        validation_instances=_data(valset, "valset"),
        test_instances=_data(test_set, "test_set"),
        python_path=[folder],
        source=str(script),
    )


def launch(
    seed: Any,
    *,
    evaluator: Any,
    batch_evaluator: Any,
    dataset: list[Any] | None,
    valset: list[Any] | None,
    test_set: list[Any] | None,
    objective: str | None,
    background: str | None,
    config: Any,
    db: str | None,
    api_base: str | None,
    options: dict[str, Any],
) -> OptimizeAnythingResult:
    """Store and run the task to the end of its budget; the result in GEPA's shape."""
    if batch_evaluator is not None:
        raise ConfigError(
            "batch_evaluator is not supported: evoforge runs each evaluation in its own "
            "sandbox; pass evaluator= (a function scoring one candidate)"
        )
    if evaluator is None:
        raise ConfigError("pass evaluator=, the function that scores a candidate")
    from_config, model, ignored = run_options(config)
    task = build_task(
        seed,
        evaluator,
        dataset=dataset,
        valset=valset,
        test_set=test_set,
        objective=objective,
        background=background,
        name=getattr(config, "name", None),
    )
    if ignored:
        warnings.warn(
            f"evoforge does not use these GEPA settings: {', '.join(sorted(ignored))} "
            "(docs/writing-tasks.md lists what it reads)",
            stacklevel=3,
        )
    chosen = {k: v for k, v in from_config.items() if v is not None}
    if valset:
        chosen["select_on"] = "validation"
    chosen.update(options)
    if model is not None or api_base is not None:
        chosen = model_proposer_options(
            chosen,
            proposer=chosen.get("proposer"),
            models=[model] if model else None,
            api_base=api_base,
        )
    database = db or os.environ.get("EVOFORGE_DB")
    outcome = run_task(task, db=database, **chosen)
    best, score = _best(database, outcome.run_id, bool(valset))
    files = best if best is not None else outcome.best_files
    return OptimizeAnythingResult(
        best_candidate=_candidate(files, seed),
        best_score=score if best is not None else outcome.best_score,
        run_id=outcome.run_id,
        total_metric_calls=int(outcome.summary.get("evaluations", {}).get("total", 0)),
        metadata={**outcome.summary, "ignored_config": sorted(ignored)},
    )


def _best(db: str | None, run_id: str, on_validation: bool) -> tuple[dict[str, str] | None, Any]:
    """The best on validation and its validation score, when the run validated any."""
    if not on_validation:
        return None, None
    repo = Repository(open_database(db))
    best = repo.best_on_validation(run_id)
    if best is None:
        return None, None
    score = repo.split_scores(run_id).get(best.id, {}).get("validation", {}).get("score")
    return dict(best.files), score


def _candidate(files: dict[str, str], seed: Any) -> str | dict[str, str]:
    """Files back into the seed's shape."""
    if isinstance(seed, str):
        return files.get(STRING_FILE, "")
    return {name: files.get(f"{name}.txt", "") for name in seed}
