"""The in-sandbox harness: run one candidate's evaluation and write its result file.

Run as ``python -I -S harness.pyc SPEC`` by a sandbox, never imported by the platform.
It starts once per evaluation, so it imports only the standard library and
`evoforge.result` (no pydantic): every millisecond here is paid by every candidate.

The protocol with the parent:

1. The parent starts this process and, when it has put it in its cgroup, writes a
   one-line nonce to stdin. Reading that line is the "go" signal, so no candidate
   code runs before the process is contained.
2. Where the spec asks for it (`isolate`), the harness contains itself first: a
   read-only view of the host with only the work folder writable, its own /dev and
   /proc, a pid namespace, and no capabilities (sandboxes/isolation.py). If any step
   fails it says so on stderr and exits without running the candidate.
3. The harness applies rlimits, loads the evaluator, runs the cascade stages and
   `evaluate`, and writes the result as JSON, with the nonce, to the spec's
   `result_path` (written to a temporary name, then renamed, so a half-written file
   is never read). It never prints the result: stdout belongs to the candidate, and
   a result parsed from stdout could be forged by a `print`.
4. A result file that is missing or carries another nonce means the candidate ended
   the process (or forged the file), and the parent reports a crash.

The evaluator runs in this process, next to the candidate it imports, so nothing in
here can be hidden from a hostile candidate; the limits that matter are the ones the
parent enforces from outside (see docs/sandboxes.md).
"""

from __future__ import annotations

import importlib
import marshal
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader

# The harness starts once per evaluation: `typing`, `contextlib`, `inspect`,
# `dataclasses` and `importlib.util` each cost milliseconds to import on every one.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from evoforge.result import EvaluationResult
    from evoforge.sandboxes import gepa_shim

PATH_PARAMETERS = frozenset({"program_path", "path", "program", "program_file"})
DIR_PARAMETERS = frozenset({"artifact_dir", "workdir"})
KNOWN_PARAMETERS = (
    PATH_PARAMETERS
    | DIR_PARAMETERS
    | {
        "candidate",
        "files",
        "instances",
        "example",
        "opt_state",
    }
)
CO_VARKEYWORDS = 0x08  # `inspect.CO_VARKEYWORDS`, without importing `inspect`
TRACEBACK_CHARS = 4000


class Candidate:
    """What the harness can hand an evaluator about the candidate, read lazily."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.primary: str = spec["primary"]
        self.directory: str = spec["candidate_dir"]
        self.files: dict[str, str] = spec["files"]
        self.instances: list[Any] | None = spec.get("instances")
        # What an evaluator's first parameter gets when its name says nothing: `path`,
        # `text`, `components` (always a dict), or `auto`: the text for a GEPA-shaped
        # evaluator (`evaluate(x, example)`), else the path (OpenEvolve's `evaluate(p)`).
        self.first_argument: str = spec.get("candidate_argument") or "auto"
        self._texts: dict[str, str] | None = None

    def text(self) -> Any:
        """The candidate as text (GEPA's `candidate`): one string, or component -> text."""
        if self._texts is None:
            self._texts = {}
            for name, path in self.files.items():
                with open(path, encoding="utf-8") as handle:
                    self._texts[name] = handle.read()
        if len(self._texts) == 1 and self.first_argument != "components":
            return next(iter(self._texts.values()))
        from evoforge.sandboxes.components import Components

        return Components(self._texts)

    def first(self, gepa_shaped: bool) -> Any:
        """The value of an evaluator's first parameter when its name is not a known one;
        `gepa_shaped`: it also takes `example`, `opt_state` or `**kwargs`."""
        if self.first_argument == "path" or (self.first_argument == "auto" and not gepa_shaped):
            return self.primary
        return self.text()

    def value(self, name: str, example: Any) -> Any:
        if name in PATH_PARAMETERS:
            return self.primary
        if name in DIR_PARAMETERS:
            return self.directory
        if name == "candidate":
            return self.text()
        if name == "files":
            return dict(self.files)
        if name == "instances":
            return self.instances
        if name == "opt_state":
            return gepa_shim.OptimizationState()
        return example  # "example"


class StageFailure(Exception):
    """Carries the name of the stage (None for `evaluate`) an exception came from."""

    def __init__(self, stage: str | None, error: BaseException) -> None:
        super().__init__(stage)
        self.stage = stage
        self.error = error


def file_spec(name: str, path: str, package_folder: str | None = None) -> ModuleSpec:
    """What `importlib.util.spec_from_file_location` returns, without importing it."""
    spec = ModuleSpec(
        name, SourceFileLoader(name, path), origin=path, is_package=bool(package_folder)
    )
    spec.has_location = True
    if package_folder:
        spec.submodule_search_locations = [package_folder]
    return spec


def new_module(spec: ModuleSpec) -> Any:
    """`importlib.util.module_from_spec` for source files, again without the import."""
    module = type(sys)(spec.name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    if spec.submodule_search_locations is not None:
        module.__path__ = spec.submodule_search_locations
    return module


class _PackageFinder:
    """Finds evoforge's top-level packages where the probe saw them (see sandboxes/boot.py)."""

    def __init__(self, packages: dict[str, str]) -> None:
        self.packages = packages

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        folder = self.packages.get(fullname)
        if folder is None:
            return None
        return file_spec(fullname, os.path.join(folder, "__init__.py"), package_folder=folder)


def boot(description: dict[str, Any] | None) -> None:
    """Under `-S`, restore the import setup `site` would have built (measured once).

    A description without `sys_path` keeps the interpreter's own path and only adds
    the package finder: a sandbox whose interpreter already has the right path (one
    in a container, say) needs no more than that.
    """
    if not description:
        return
    if "sys_path" in description:
        sys.path[:] = [p for p in description["sys_path"] if p]
    sys.meta_path.insert(0, _PackageFinder(description.get("packages", {})))
    import builtins

    def _exit(code: Any = None) -> None:
        raise SystemExit(code)

    # `site` normally provides these; candidates written for a REPL call them.
    builtins.exit = builtins.quit = _exit  # type: ignore[assignment]


def parameters(function: Any) -> list[tuple[str, bool, bool]]:
    """(name, positional-only, has a default) per named parameter of `function`.

    Reads the code object of plain functions and methods directly, because `inspect`
    costs several milliseconds to import in every evaluation; other callables
    (classes, partials, builtins) go through `inspect`.
    """
    target = getattr(function, "__func__", function)
    code = getattr(target, "__code__", None)
    if code is None or not hasattr(target, "__defaults__"):
        import inspect

        result = []
        for p in inspect.signature(function).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            result.append((p.name, p.kind is p.POSITIONAL_ONLY, p.default is not p.empty))
        return result
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    defaults = len(target.__defaults__ or ())
    kwdefaults = target.__kwdefaults__ or {}
    result = []
    for index, name in enumerate(names):
        positional = index < code.co_argcount
        has_default = index >= code.co_argcount - defaults if positional else name in kwdefaults
        result.append((name, index < code.co_posonlyargcount, has_default))
    if function is not target:  # a bound method: `self` is already given
        result = result[1:]
    return result


def read_nonce() -> str:
    """Wait for the parent's go signal, then give the candidate an empty stdin."""
    line = sys.stdin.buffer.readline().strip().decode("ascii", "replace")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return line


_file_modules: dict[str, Any] = {}


def _load_file(path: str) -> Any:
    """Import a file by path, once, under a name no candidate module can collide with."""
    if path in _file_modules:
        return _file_modules[path]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"evaluator file {path} does not exist")
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the evaluator's sibling modules import
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"_evoforge_evaluator_{len(_file_modules)}_{stem}"
    module = new_module(file_spec(name, path))
    sys.modules[name] = module
    try:
        module.__loader__.exec_module(module)
    except gepa_shim.ScriptStopped:
        pass  # a GEPA script's `optimize_anything(...)` line: its evaluator is defined above
    _file_modules[path] = module
    return module


def resolve(reference: str) -> Any:
    """`package.module:function` or `/path/file.py:function` -> the callable."""
    target, _, attribute = reference.rpartition(":")
    if not target or not attribute:
        raise ValueError(
            f"{reference!r} must look like 'package.module:function' or '/path/file.py:function'"
        )
    if target.endswith(".py") or os.sep in target:
        module = _load_file(os.path.abspath(target))
    else:
        module = importlib.import_module(target)
    obj = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise AttributeError(f"{target} has no attribute {part!r} (from {reference!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{reference} is a {type(obj).__name__}, not a function")
    return obj


def takes_keywords(function: Any) -> bool:
    """Whether `function` has a `**kwargs` (GEPA then passes it `example`)."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return code is not None and bool(code.co_flags & CO_VARKEYWORDS)


def call(function: Any, candidate: Candidate, example: Any = None) -> Any:
    """Call an evaluator with the arguments its parameter names ask for; the first
    parameter, whatever its name, receives the candidate (see `Candidate.first`)."""
    params = parameters(function)
    if not params:
        # `evaluate(*args)`: the OpenEvolve convention, the program path.
        return function(candidate.primary)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    names = [name for name, _, _ in params]
    if candidate.instances is not None and "example" not in names and takes_keywords(function):
        kwargs["example"] = example
    for index, (name, positional_only, has_default) in enumerate(params):
        if name in KNOWN_PARAMETERS:
            value = candidate.value(name, example)
        elif index == 0:
            value = candidate.first(
                "example" in names or "opt_state" in names or takes_keywords(function)
            )
        elif has_default:
            continue
        else:
            raise TypeError(
                f"{getattr(function, '__qualname__', function)}() asks for {name!r}, "
                "which evoforge cannot fill; the first parameter gets the candidate, the "
                f"others must be one of {sorted(KNOWN_PARAMETERS)} or have a default"
            )
        if positional_only:
            args.append(value)
        else:
            kwargs[name] = value
    return function(*args, **kwargs)


def aggregate(results: list[EvaluationResult]) -> EvaluationResult:
    """GEPA style: one result per instance -> the mean, with per-instance scores kept."""
    for index, result in enumerate(results):
        if not result.valid:
            return EvaluationResult(valid=False, reason=f"instance {index}: {result.reason}")
    if not results:
        return EvaluationResult(valid=False, reason="the task has no instances to evaluate")
    scores = [float(result.score or 0.0) for result in results]
    sums: dict[str, list[float]] = {}
    for result in results:
        for key, value in result.metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sums.setdefault(key, []).append(float(value))
    return EvaluationResult(
        score=sum(scores) / len(scores),
        metrics={key: sum(values) / len(values) for key, values in sums.items()},
        feedback="\n".join(
            f"[instance {index}] {result.feedback}"
            for index, result in enumerate(results)
            if result.feedback
        ),
        instance_scores={str(index): score for index, score in enumerate(scores)},
        artifacts={k: v for result in results for k, v in result.artifacts.items()},
    )


def logged_call(function: Any, candidate: Candidate, metric: str, example: Any = None) -> Any:
    """One evaluator call, with what it passed to GEPA's `oa.log` added to its feedback."""
    with gepa_shim.LogCapture() as capture:
        try:
            result = normalize(call(function, candidate, example), metric)
        except BaseException as error:
            error.oa_log = capture.text()  # type: ignore[attr-defined]  # see `failure`
            raise
    logged = capture.text()
    if logged:
        result.feedback = "\n".join(part for part in (result.feedback, f"log: {logged}") if part)
    return result


def evaluate_with(reference: str, candidate: Candidate, metric: str) -> EvaluationResult:
    try:
        function = resolve(reference)
    except Exception as error:
        # Before any candidate code: no proposal can fix this (see `failure`).
        error.evoforge_loading = reference  # type: ignore[attr-defined]
        raise
    example = [has_default for name, _, has_default in parameters(function) if name == "example"]
    if candidate.instances is None and example and not example[0]:
        raise ValueError(f"{reference} takes `example`, but the task declares no instances")
    if candidate.instances is not None and (example or takes_keywords(function)):
        result = aggregate(
            [logged_call(function, candidate, metric, item) for item in candidate.instances]
        )
    else:  # GEPA's single-task search: `example=None` is not passed
        result = logged_call(function, candidate, metric)
    if result.instance_scores is not None:
        result.instance_scores = {str(k): float(v) for k, v in result.instance_scores.items()}
    return result


def run_cascade(spec: dict[str, Any], candidate: Candidate) -> dict[str, Any]:
    """Run the stages in order, then `evaluate` if every stage passed."""
    metric = spec.get("metric", "score")
    metrics: dict[str, Any] = {}
    artifacts: dict[str, Any] = {}
    feedback: list[str] = []
    job_instances = candidate.instances
    steps = [
        (s["name"], s["function"], s.get("threshold"), s.get("instances"))
        for s in spec.get("stages", [])
    ]
    steps.append((None, spec["evaluate"], None, None))
    for name, reference, threshold, instances in steps:
        # A stage may judge its own instances (a minibatch); `evaluate` judges the job's.
        candidate.instances = job_instances if instances is None else instances
        try:
            result = evaluate_with(reference, candidate, metric)
        except BaseException as error:  # SystemExit from a candidate is a failure too
            raise StageFailure(name, error) from error
        metrics.update(result.metrics)
        artifacts.update(result.artifacts)
        if result.feedback:
            feedback.append(result.feedback)
        score = result.score
        if result.score_from_metrics and result.valid:
            # OpenEvolve's fitness: every stage's metrics so far, merged.
            score = score_from_metrics(metrics, metric, spec.get("score_excludes", ()))
        payload: dict[str, Any] = {
            "status": "ok",
            "score": score,
            "metrics": metrics,
            "instance_scores": result.instance_scores,
            "feedback": "\n".join(feedback),
            "artifacts": artifacts,
            "reason": "",
            "stage": name,
        }
        if not result.valid:
            payload.update(status="invalid", reason=result.reason)
            return payload
        if threshold is not None and result.score is not None and result.score < threshold:
            payload["reason"] = (
                f"stopped at stage {name!r}: score {result.score:g} is below its "
                f"threshold {threshold:g}"
            )
            return payload
        if name is None:
            return payload
    raise AssertionError("unreachable: the last step is `evaluate`")


def failure(stage: str | None, error: BaseException, memory_mb: Any) -> dict[str, Any]:
    """The payload for an evaluator that raised: the last line as reason, the tail as feedback."""
    import traceback

    text = "".join(traceback.format_exception(error))
    where = f"stage {stage!r}" if stage else "evaluate"
    loading = getattr(error, "evoforge_loading", None)
    if loading is not None:
        where = f"{EVALUATOR_NOT_LOADED} {loading}"
    if isinstance(error, SystemExit):
        reason = f"{where} called sys.exit({error.code!r})"
    elif isinstance(error, MemoryError):
        reason = f"{where} raised MemoryError: out of memory (the limit is {memory_mb} MB)"
    else:
        reason = f"{where} raised {traceback.format_exception_only(error)[-1].strip()}"
    logged = getattr(error, "oa_log", "")  # what it passed to oa.log first
    logged = f"\nlog: {logged[-TRACEBACK_CHARS:]}" if logged else ""
    return {
        "status": "failed",
        "score": None,
        "metrics": {},
        "instance_scores": None,
        "feedback": text[-TRACEBACK_CHARS:] + logged,
        "artifacts": {},
        "reason": reason[:1000],
        "stage": stage,
    }


FAILED_ISOLATION = 3  # the same code as `isolation.FAILED_EXIT`, without importing it


def isolate(settings: dict[str, Any]) -> bool:
    """Contain this process before any candidate code (sandboxes/isolation.py).

    Returns True in the process that goes on to run the evaluation. False means a step
    failed: the reason is on stderr, and the candidate must not run unprotected.
    """
    try:
        from evoforge.sandboxes.isolation import isolate as contain
        from evoforge.sandboxes.isolation import refuse
    except ImportError as error:
        print(f"sandbox isolation failed, so the candidate was not run: {error}", file=sys.stderr)
        return False
    try:
        contain(settings.get("writable", []), settings.get("gpu", False), settings.get("shm_mb"))
    except Exception as error:
        refuse(error)
        return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "--serve":
        return serve_warm(int(argv[2]), argv[3])
    if len(argv) != 2:
        print("usage: python -I harness.py SPEC", file=sys.stderr)
        return 2
    nonce = read_nonce()
    if not nonce:
        return 2  # the parent gave up before saying go
    # Line by line, so a candidate killed at the deadline still shows its last prints.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with open(argv[1], "rb") as handle:
        spec = marshal.load(handle)  # written by the parent: trusted, and no json import
    boot(spec.get("boot"))
    if spec.get("isolate") is not None and not isolate(spec["isolate"]):
        return FAILED_ISOLATION
    load_platform()
    install_shims()
    evaluate_spec(spec, lambda: nonce)
    return 0


def load_platform() -> None:
    """Import what scoring needs from evoforge, once `boot` made it importable."""
    global EvaluationResult, normalize, score_from_metrics, gepa_shim, EVALUATOR_NOT_LOADED
    from evoforge.result import (
        EVALUATOR_NOT_LOADED,
        EvaluationResult,
        normalize,
        score_from_metrics,
    )
    from evoforge.sandboxes import gepa_shim


def install_shims() -> None:
    """Make `import openevolve`, `shinka` and `gepa` resolve to evoforge's stand-ins."""
    from evoforge.sandboxes.openevolve_shim import install_openevolve_shim
    from evoforge.sandboxes.shinka_shim import install_shinka_shim

    install_openevolve_shim()
    install_shinka_shim()
    gepa_shim.install_gepa_shim()


def evaluate_spec(spec: dict[str, Any], nonce: Any) -> None:
    """Limits, then the cascade, then the result file; `nonce()` is asked only at the
    end (a warm child reads it from stdin then, so a process it forked meanwhile never
    held it)."""
    from evoforge.sandboxes.result_file import reserve_space, write_result
    from evoforge.sandboxes.rlimits import apply_limits

    reserve_space(spec["result_path"])
    apply_limits(spec.get("limits", {}))
    sys.path[:0] = [p for p in spec.get("python_path", []) if p not in sys.path]
    # Last, so it shadows nothing: the candidate's own files import one another, as
    # they do where other tools run them (a SkyDiscover container's one folder).
    sys.path.append(spec["candidate_dir"])
    try:
        payload = run_cascade(spec, Candidate(spec))
    except StageFailure as stopped:
        payload = failure(stopped.stage, stopped.error, spec.get("limits", {}).get("memory_mb"))
    payload["nonce"] = nonce()
    write_result(spec["result_path"], payload)


def serve_warm(control_fd: int, setup_path: str) -> int:
    """`--serve FD SETUP`: a warm server for one evaluation slot (sandboxes/warm_server.py).
    SETUP, written by the parent before the server starts, says how to boot."""
    with open(setup_path, "rb") as handle:
        setup = marshal.load(handle)
    try:
        os.unlink(setup_path)
    except OSError:
        pass
    boot(setup.get("boot"))
    load_platform()
    install_shims()
    # What `evaluate_spec` imports, imported once here: in each forked child these
    # took about 3 ms of an instant evaluation's 9 (finding and loading the files).
    import evoforge.sandboxes.result_file
    import evoforge.sandboxes.rlimits  # noqa: F401
    from evoforge.sandboxes.warm_server import serve

    return serve(control_fd, setup, sys.modules[__name__])


if __name__ == "__main__":
    # Script mode puts this folder first on sys.path unless -I/-P; keep the sandbox
    # modules from shadowing a candidate's `output` or `process` module.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    code = main(sys.argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a candidate may have closed or replaced it
            pass
    # Skip interpreter shutdown: a thread the candidate left running must not keep
    # the process (and the evaluation slot) alive until the deadline.
    os._exit(code)
