"""The container protocol of SkyDiscover's benchmarks: `evaluate.sh PROGRAM MODE` prints JSON.

A benchmark folder holds `initial_program.*` and an `evaluator/` folder with a
`Dockerfile` and an `evaluate.sh`. evaluate.sh is called with the candidate's path and
a mode (`train` during the search, `test` for the held-out score when the run ends)
and prints exactly one JSON object on stdout::

    {"status": "success" | "error" | "timeout", "combined_score": 0.87,
     "metrics": {"name": number, ...}, "artifacts": {"name": text, ...}}

It exits 0 when the evaluation completed (the candidate may still have failed: that is
`status`), and non-zero when the evaluator itself broke. Because evaluate.sh may be
written in any language, evoforge gets evaluators in any language.

This module is both halves of the contract that do not depend on the sandbox:

* `read_report` turns evaluate.sh's stdout and exit code into an `EvaluationResult`
  or a `ScriptProtocolError` whose message is the reason a person reads;
* `evaluate` is the task's `evaluate` under the process sandbox: the harness calls it
  (after isolating itself and setting its rlimits), and it runs evaluate.sh as a
  child with stdout on a pipe of its own. The docker sandbox does not use it: there
  evaluate.sh is the container's command and the host reads its stdout
  (sandboxes/script_container.py).

Why stdout is trusted only this far. stdout is the protocol's result channel, so it
cannot be moved to a file as evoforge's own harness does. evaluate.sh's stdout is a
pipe evoforge reads apart from everything else, but the candidate runs *inside*
evaluate.sh's process tree: if the evaluator lets the candidate inherit stdout (runs
it without capturing its output, or imports it), the candidate writes on the same
pipe. So the whole of stdout must be exactly one JSON object, as SkyDiscover itself
requires: a candidate that prints anything there, a forged object included, adds to
the evaluator's own object and the result is refused. What this cannot stop, and no
reader of a shared pipe could, is a candidate that also *suppresses* the genuine
object: one that kills or exits its evaluator and still leaves evaluate.sh exiting 0,
or that attaches to its evaluator (same user). Evaluators whose scores must hold
against hostile candidates run the candidate as a subprocess with stdout captured,
as SkyDiscover's own benchmarks do; docs/docker.md lists each case.

Standard library only (plus `evoforge.result`): the harness imports it in the sandbox.
"""

from __future__ import annotations

import json
import math
import os
import selectors
import subprocess
import sys

from evoforge.result import EvaluationResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCRIPT_EVALUATE = "evoforge.sandboxes.script_protocol:evaluate"
"""The `evaluate` reference of every container-protocol task; the docker sandbox
recognises it and runs the task's image instead of the harness."""
SCRIPT_ENV = "EVOFORGE_EVALUATE_SH"
"""Names evaluate.sh on the host, for the process sandbox; removed before it runs."""
MODES = ("train", "test")
STDOUT_LIMIT = 1 << 20  # one JSON object; more than this is refused, never parsed
STATUSES = ("success", "error", "timeout")
DRAIN_S = 0.2  # after evaluate.sh exits, how long to read what it already wrote
FEEDBACK_CHARS = 4000


class ScriptProtocolError(RuntimeError):
    """evaluate.sh broke the protocol; the message is the evaluation's reason."""


def mode_for(instances: list[Any] | None) -> str:
    """The MODE argument: the task's instances are `None` in training and `["test"]`
    when the run scores its held-out split."""
    if instances and str(instances[0]) in MODES:
        return str(instances[0])
    return "train"


def _excerpt(data: bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", "replace").strip()
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def parse_stdout(stdout: bytes, truncated: bool = False) -> dict[str, Any]:
    """The one JSON object evaluate.sh printed, or a `ScriptProtocolError` saying why not."""
    if truncated or len(stdout) > STDOUT_LIMIT:
        raise ScriptProtocolError(
            f"evaluate.sh printed more than {STDOUT_LIMIT >> 20} MiB on stdout; stdout must "
            "hold one JSON object (send logs to stderr)"
        )
    text = stdout.decode("utf-8", "replace").strip()
    if not text:
        raise ScriptProtocolError(
            "evaluate.sh printed nothing on stdout; it must print one JSON object "
            '({"status": ..., "combined_score": ...})'
        )
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(text)
    except (ValueError, RecursionError):
        raise ScriptProtocolError(
            f"evaluate.sh's stdout is not a JSON object: it starts {_excerpt(stdout)} "
            "(send logs to stderr)"
        ) from None
    if not isinstance(value, dict):
        raise ScriptProtocolError(
            f"evaluate.sh printed JSON {type(value).__name__}, not an object: {_excerpt(stdout)}"
        )
    rest = text[end:].strip()
    if rest:
        try:
            extra, _ = decoder.raw_decode(rest)
        except (ValueError, RecursionError):
            extra = None
        what = "a second JSON object" if isinstance(extra, dict) else "more output"
        raise ScriptProtocolError(
            f"evaluate.sh's stdout holds {what} after the first ({_excerpt(rest.encode())}); "
            "stdout must be exactly one JSON object, so the result is refused (a candidate "
            "that shares the evaluator's stdout can print there)"
        )
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


def to_result(report: dict[str, Any]) -> EvaluationResult:
    """Map the protocol's object onto evoforge's result.

    `success` with a finite `combined_score` is a scored candidate; `error` and
    `timeout` are invalid candidates (the evaluator ran; the candidate did not pass),
    with the artifacts' `error` text as the reason when there is one.
    """
    status = report.get("status")
    if status not in STATUSES:
        raise ScriptProtocolError(
            f"evaluate.sh's JSON has status {status!r}; use one of {', '.join(STATUSES)}"
        )
    raw_metrics = report.get("metrics") or {}
    raw_artifacts = report.get("artifacts") or {}
    if not isinstance(raw_metrics, dict) or not isinstance(raw_artifacts, dict):
        raise ScriptProtocolError("evaluate.sh's JSON: metrics and artifacts must be objects")
    metrics = {str(k): n for k, v in raw_metrics.items() if (n := _number(v)) is not None}
    artifacts = {
        str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw_artifacts.items()
    }
    score = _number(report.get("combined_score"))
    if score is None:
        score = metrics.get("combined_score")
    if score is not None:
        metrics.setdefault("combined_score", score)
    feedback = "\n".join(f"{k}: {v}" for k, v in artifacts.items())[:FEEDBACK_CHARS]
    result = EvaluationResult(score=score, metrics=metrics, feedback=feedback, artifacts=artifacts)
    if status != "success":
        detail = artifacts.get("error") or artifacts.get("reason") or ""
        result.valid = False
        result.reason = f"evaluate.sh reported status {status}" + (f": {detail}" if detail else "")
        result.reason = result.reason[:1000]
    elif score is None:
        result.valid = False
        result.reason = "evaluate.sh reported success but no numeric combined_score"
    elif not math.isfinite(score):
        result.valid = False
        result.reason = f"evaluate.sh's combined_score is not a finite number ({score})"
    return result


def read_report(
    stdout: bytes, returncode: int, stderr_tail: str = "", truncated: bool = False
) -> EvaluationResult:
    """evaluate.sh's whole answer: too much output, then its exit code, then its JSON.

    Too much output comes first: evaluate.sh is killed when it passes the limit.
    """
    if truncated:
        parse_stdout(stdout, truncated=True)
    if returncode != 0:
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited {returncode}"
        tail = f": {stderr_tail}" if stderr_tail else ""
        raise ScriptProtocolError(f"evaluate.sh {how} (the evaluator itself failed){tail}")
    return to_result(parse_stdout(stdout, truncated))


def _read_output(process: subprocess.Popen[bytes]) -> tuple[bytes, bool, str]:
    """evaluate.sh's stdout up to the limit, whether it passed it, and its last stderr line.

    stderr is passed on to the harness's own (which the sandbox captures, capped), and
    its tail kept for the reason. Reads until EOF, or until evaluate.sh has exited and
    nothing more arrives: a process it left behind may hold the pipes open for ever,
    and must not hold the evaluation until its deadline.
    """
    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    chunks: list[bytes] = []
    size = 0
    err_tail = b""
    with selectors.DefaultSelector() as selector:
        selector.register(out_fd, selectors.EVENT_READ)
        selector.register(err_fd, selectors.EVENT_READ)
        while selector.get_map():
            exited = process.poll() is not None
            ready = selector.select(DRAIN_S if exited else 0.5)
            if not ready and exited:
                break
            for key, _ in ready:
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(key.fd)
                elif key.fd == err_fd:
                    os.write(2, chunk)
                    err_tail = (err_tail + chunk)[-4096:]
                else:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > STDOUT_LIMIT:
                        return b"".join(chunks), True, ""
    lines = err_tail.decode("utf-8", "replace").strip().splitlines()
    return b"".join(chunks), False, lines[-1][:300] if lines else ""


PR_SET_DUMPABLE = 4


def hide_this_process() -> None:
    """Make this process non-dumpable before evaluate.sh starts.

    The harness (this process) holds the result file's nonce in memory, and the
    candidate runs as the same user further down the tree: while dumpable, it could
    read `/proc/<harness>/mem` (or ptrace it) where no Yama policy forbids it, take
    the nonce and write a result of its own. A non-dumpable process's memory is
    closed to every process without CAP_SYS_PTRACE, which the sandbox has dropped.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise ScriptProtocolError(
            f"cannot protect the harness from the candidate (prctl: errno "
            f"{ctypes.get_errno()}), so evaluate.sh was not run"
        )


def evaluate(program_path: str, instances: list[Any] | None = None) -> EvaluationResult:
    """Run evaluate.sh on the candidate in this (already contained) process's place.

    Called by the harness inside the process sandbox, so evaluate.sh and everything it
    starts inherit the sandbox's namespaces, read-only host, rlimits and deadline.
    Its stdout is a pipe only this function reads; its stderr is passed on to the
    harness's, which the sandbox captures for the person reading the evaluation.
    """
    script = os.environ.pop(SCRIPT_ENV, "")
    if not script or not os.path.isfile(script):
        raise ScriptProtocolError(f"evaluate.sh not found at {script!r}; reload the task folder")
    if not os.access(script, os.X_OK):
        raise ScriptProtocolError(f"{script} is not executable; run chmod +x on it")
    hide_this_process()
    sys.stdout.flush()
    sys.stderr.flush()
    process = subprocess.Popen(
        [script, program_path, mode_for(instances)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=os.path.dirname(script),
    )
    try:
        stdout, truncated, last_words = _read_output(process)
    finally:
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    if truncated:
        process.kill()
    returncode = process.wait()
    return read_report(stdout, returncode, last_words, truncated=truncated)
