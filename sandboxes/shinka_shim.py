"""A stand-in `shinka` so ShinkaEvolve's `evaluate.py` runs unchanged in the sandbox.

ShinkaEvolve runs `python evaluate.py --program_path P --results_dir R`; the script's
`main(program_path, results_dir)` calls `shinka.core.run_shinka_eval`, which loads
the candidate, calls its experiment function `num_runs` times, validates and
aggregates the runs, and writes `metrics.json` and `correct.json` into `results_dir`.
ShinkaEvolve then reads those two files back.

Here the score never comes from those files. `results_dir` sits in the candidate's
writable work folder, so the candidate could write a `metrics.json` of its own (or
keep rewriting it from a thread). Instead `evaluate_shinka_main` takes what
`run_shinka_eval` (this stand-in, or a real ShinkaEvolve's) *returned* to the
evaluator, in this process: the last outermost call made on the evaluating thread.
A call the candidate makes from inside its experiment function is nested (ignored),
and one from a thread it started is on another thread (ignored). The files are
still written, for evaluators and people that read them.

This is the same trust the harness gives any evaluator: it shares a process with the
candidate, so a candidate that patches this module's objects in memory is beyond
what an in-process check can stop (see docs/sandboxes.md for the outer limits).

Installed by the harness last on `sys.meta_path`, so a real ShinkaEvolve wins. Its
parallel workers and early stopping are not reproduced: runs are sequential and
all `num_runs` run, since the sandbox gives an evaluation one CPU budget anyway.
"""

from __future__ import annotations

import os
import sys
from _thread import get_ident  # `threading` itself costs an import per evaluation
from importlib.machinery import ModuleSpec

TYPE_CHECKING = False  # `typing` costs every evaluation milliseconds to import
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from evoforge.result import EvaluationResult

EVALUATOR_ENV = "EVOFORGE_SHINKA_EVALUATOR"
"""The task's env names the folder's `evaluate.py` (see evoforge.layouts.shinka)."""

DEFAULT_METRICS_ON_ERROR: dict[str, Any] = {
    "combined_score": 0.0,
    "execution_time_mean": 0.0,
    "execution_time_std": 0.0,
    "num_successful_runs": 0,
    "num_valid_runs": 0,
    "num_invalid_runs": 0,
    "all_validation_errors": [],
}


class _Returned:
    """What the evaluator's own `run_shinka_eval` call returned, kept in memory.

    One per evaluation, held only by `evaluate_shinka_main` and its wrapper, never
    in a module global a candidate could import and overwrite.
    """

    def __init__(self) -> None:
        self.owner = get_ident()  # the thread running the evaluator's `main`
        self.depth = 0
        self.result: tuple[dict[str, Any], bool, str | None] | None = None


def _load_program(program_path: str, name: str, register: bool = False) -> Any:
    """Load a file as a module; `register` puts it in sys.modules first, as a script's
    `__main__` is, for the dataclasses and pickling an evaluator may use."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"could not load a module from {program_path}")
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _is_bad_number(value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:
        return "combined_score is NaN"
    if number in (float("inf"), float("-inf")):
        return f"combined_score is inf ({number})"
    return None


def _save(results_dir: str, metrics: dict[str, Any], correct: bool, error: str | None) -> None:
    """Write ShinkaEvolve's two files; evoforge itself never reads them back."""
    import json

    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as handle:
        json.dump({"correct": correct, "error": error}, handle, indent=4, default=str)
    with open(os.path.join(results_dir, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=4, default=str)


def _runs(
    program_path: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None,
) -> tuple[list[Any], list[float], list[str], int, str | None]:
    """Call the experiment `num_runs` times; (results, times, errors, valid count, first error)."""
    import time

    module = _load_program(program_path, "program")
    if not hasattr(module, experiment_fn_name):
        raise AttributeError(
            f"Experiment function '{experiment_fn_name}' not found in {program_path}"
        )
    experiment = getattr(module, experiment_fn_name)
    results: list[Any] = []
    times: list[float] = []
    errors: list[str] = []
    valid = 0
    first_error: str | None = None
    for index in range(num_runs):
        kwargs = get_experiment_kwargs(index) if get_experiment_kwargs else {"seed": index + 1}
        started = time.perf_counter()
        outcome = experiment(**kwargs)
        times.append(time.perf_counter() - started)
        results.append(outcome)
        if validate_fn is None:
            continue
        ok, message = validate_fn(outcome)
        if ok:
            valid += 1
            continue
        if message:
            first_error = first_error or f"Validation failed: {message}"
            if message not in errors:
                errors.append(message)
        else:
            first_error = first_error or "Validation failed"
    return results, times, errors, valid, first_error


def run_shinka_eval(
    program_path: str,
    results_dir: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None = None,
    aggregate_metrics_fn: Callable[[list[Any]], dict[str, Any]] | None = None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None = None,
    plotting_fn: Any = None,
    default_metrics_on_error: dict[str, Any] | None = None,
    early_stop_method: Any = None,
    early_stop_threshold: float | None = None,
    early_stop_score_fn: Any = None,
    early_stop_kwargs: dict[str, Any] | None = None,
    run_workers: int = 1,
    max_workers_cap: int | None = None,
    verbose: bool | None = None,
) -> tuple[dict[str, Any], bool, str | None]:
    """ShinkaEvolve's contract: run, validate and aggregate; return (metrics, correct, error).

    Plotting, early stopping and parallel workers are accepted and not used.
    """
    metrics, correct, error = _evaluate(
        program_path,
        experiment_fn_name,
        num_runs,
        get_experiment_kwargs,
        aggregate_metrics_fn,
        validate_fn,
        default_metrics_on_error,
    )
    if "extra_data" in metrics:
        extra = metrics.pop("extra_data")
        try:
            import pickle

            os.makedirs(results_dir, exist_ok=True)
            with open(os.path.join(results_dir, "extra.pkl"), "wb") as handle:
                pickle.dump(extra, handle)
        except Exception as problem:  # extra data is a convenience, never the score
            print(f"could not save extra_data: {problem}", file=sys.stderr)
    _save(results_dir, metrics, correct, error)
    return metrics, correct, error


def _recording(function: Callable[..., Any], returned: _Returned) -> Callable[..., Any]:
    """`function` (this stand-in or a real run_shinka_eval) that keeps what it returns.

    Only the outermost call on the evaluating thread counts: the candidate's own calls
    run nested inside its experiment, or on threads it started.
    """

    def recorded(*args: Any, **kwargs: Any) -> Any:
        current = get_ident()
        mine = returned.owner == current
        outermost = mine and returned.depth == 0
        if mine:
            returned.depth += 1
        try:
            answer = function(*args, **kwargs)
        finally:
            if mine:
                returned.depth -= 1
        if outermost and isinstance(answer, tuple) and len(answer) == 3:
            metrics, correct, error = answer
            returned.result = (dict(metrics), bool(correct), error)
        return answer

    return recorded


def _evaluate(
    program_path: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None,
    aggregate_metrics_fn: Callable[[list[Any]], dict[str, Any]] | None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None,
    default_metrics_on_error: dict[str, Any] | None,
) -> tuple[dict[str, Any], bool, str | None]:
    """The body of `run_shinka_eval`: an exception becomes the default metrics, incorrect."""
    try:
        results, times, errors, valid, first_error = _runs(
            program_path, experiment_fn_name, num_runs, get_experiment_kwargs, validate_fn
        )
        if aggregate_metrics_fn:
            metrics = dict(aggregate_metrics_fn(results))
        else:
            metrics = {
                "num_successful_runs": len(results),
                "first_run_result_type": str(type(results[0])) if results else "N/A",
                "raw_results_preview": str(results[:2]) if results else "N/A",
            }
        mean = sum(times) / len(times) if times else 0.0
        metrics["execution_time_mean"] = mean
        metrics["execution_time_std"] = (
            (sum((t - mean) ** 2 for t in times) / len(times)) ** 0.5 if times else 0.0
        )
        if validate_fn:
            metrics["num_valid_runs"] = valid
            metrics["num_invalid_runs"] = len(results) - valid
            metrics["all_validation_errors"] = errors
        correct = valid == len(results) if validate_fn else True
        bad = _is_bad_number(metrics["combined_score"]) if "combined_score" in metrics else None
        if bad:
            correct, first_error = False, first_error or bad
        return metrics, correct, first_error
    except Exception as problem:
        import traceback

        traceback.print_exc()  # reaches the stored stderr tail the proposer sees
        defaults = {**DEFAULT_METRICS_ON_ERROR, **(default_metrics_on_error or {})}
        metrics = {key: defaults[key] for key in DEFAULT_METRICS_ON_ERROR}
        return metrics, False, str(problem) or type(problem).__name__


def shinka_result(metrics: dict[str, Any], correct: bool, error: str | None) -> EvaluationResult:
    """ShinkaEvolve's reading of its results, as an evoforge result.

    The score is `combined_score` (0.0 when absent, as ShinkaEvolve reads it);
    `text_feedback` is the feedback the proposer sees; `public` metrics sit with the
    others in the prompt, `private` ones are stored as an artifact the proposer never
    sees; `correct: false` makes the candidate invalid with its error.
    """
    import json

    from evoforge.result import EvaluationResult

    metrics = dict(metrics)
    feedback = metrics.pop("text_feedback", "") or ""
    public = metrics.pop("public", None) or {}
    private = metrics.pop("private", None) or {}
    score = metrics.get("combined_score", 0.0)  # top level only: `public` cannot set it
    shown = {**(public if isinstance(public, dict) else {"public": public}), **metrics}
    result = EvaluationResult(
        score=float(score) if score is not None else None,
        metrics=shown,
        feedback=str(feedback),
        artifacts={"private_metrics": json.dumps(private, default=str)} if private else {},
    )
    if not correct:
        result.valid = False
        result.reason = error or "run_shinka_eval reported the candidate incorrect"
    return result


def _evaluator_path() -> str:
    """The folder's evaluate.py: at the host path the task named, else along sys.path.

    A container sandbox mounts the task folder elsewhere, but still on the path.
    """
    named = os.environ.get(EVALUATOR_ENV, "evaluate.py")
    if os.path.isfile(named):
        return named
    base = os.path.basename(named)
    for entry in sys.path:
        candidate = os.path.join(entry or ".", base)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"the ShinkaEvolve evaluator {named} is not in the sandbox")


def evaluate_shinka_main(program_path: str, workdir: str) -> EvaluationResult:
    """Run the folder's `main(program_path, results_dir)` and read what run_shinka_eval returned.

    `results_dir` is a fresh folder beside the candidate's, inside its writable work
    folder. A `main` that never calls `run_shinka_eval` may return `(metrics,
    correct, error)` or a metrics dict instead; files it writes are never read.
    """
    import tempfile

    if not any(isinstance(finder, _ShinkaShimFinder) for finder in sys.meta_path):
        install_shinka_shim()  # a harness that did not install it: same effect
    results_dir = tempfile.mkdtemp(prefix="shinka-results-", dir=os.path.dirname(workdir))
    evaluator = _load_program(_evaluator_path(), "_evoforge_shinka_evaluate", register=True)
    main = getattr(evaluator, "main", None)
    if not callable(main):
        raise AttributeError("evaluate.py defines no main(program_path, results_dir)")
    recorded = _Returned()
    if callable(getattr(evaluator, "run_shinka_eval", None)):
        evaluator.run_shinka_eval = _recording(evaluator.run_shinka_eval, recorded)
    answer = main(program_path, results_dir)
    if recorded.result is not None:
        return shinka_result(*recorded.result)
    if isinstance(answer, tuple) and len(answer) == 3 and isinstance(answer[0], dict):
        return shinka_result(answer[0], bool(answer[1]), answer[2])
    if isinstance(answer, dict):
        return shinka_result(answer, True, None)
    raise RuntimeError(
        "evaluate.py's main() returned without calling run_shinka_eval; evoforge never "
        "reads metrics.json (the candidate could write it): call run_shinka_eval, or end "
        "main with `return metrics, correct, error`"
    )


class _ShinkaShimFinder:
    """Last on `sys.meta_path`: answers `import shinka` only when it is not installed."""

    NAMES = ("shinka", "shinka.core", "shinka.core.wrap_eval")

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in self.NAMES:
            return None
        return ModuleSpec(fullname, self, is_package=fullname != "shinka.core.wrap_eval")

    def create_module(self, spec: Any) -> Any:
        return None

    def exec_module(self, module: Any) -> None:
        if module.__name__ != "shinka.core.wrap_eval":
            module.__path__ = []
        if module.__name__ != "shinka":
            module.run_shinka_eval = run_shinka_eval


def install_shinka_shim() -> None:
    """Let ShinkaEvolve evaluators `from shinka.core import run_shinka_eval` unchanged."""
    sys.meta_path.append(_ShinkaShimFinder())
