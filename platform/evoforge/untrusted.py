"""What an evaluation reports is checked as untrusted input before anything keeps it.

The evaluator shares a process with the candidate, so whatever reaches the parent
may have been written by the candidate. Three shapes have hurt the orchestrator:
values nested hundreds of levels deep (the store's JSON cleaning then overflowed
the recursion limit, failing the run and every `resume`), a score that is text
(`"1e9"` was read as a number) and a score that is not finite (stored as `ok` with
no score). Here each becomes something the rest of the platform can hold: nesting
is cut at `MAX_NESTING` levels, and an `ok` evaluation without a real, finite
number as its score is `invalid`, with the reason.
"""

from __future__ import annotations

import math
from typing import Any

MAX_NESTING = 16
"""Levels of dicts and lists kept in metrics, artifacts and instance scores."""

CUT = f"[nested deeper than {MAX_NESTING} levels: cut]"


def bounded(value: Any, depth: int = 0) -> Any:
    """`value` with every dict or list below `MAX_NESTING` levels replaced by `CUT`.

    The recursion is itself bounded by `MAX_NESTING`, so no input can exhaust the
    stack here."""
    if isinstance(value, (dict, list, tuple)):
        if depth >= MAX_NESTING:
            return CUT
        if isinstance(value, dict):
            return {key: bounded(item, depth + 1) for key, item in value.items()}
        return [bounded(item, depth + 1) for item in value]
    return value


def is_number(value: Any) -> bool:
    """A real number: an int or float, not a flag and not text that looks like one."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checked_report(data: dict[str, Any]) -> dict[str, Any]:
    """An evaluation's fields as reported, made safe to validate and store."""
    data = dict(data)
    for key in ("metrics", "artifacts", "instance_scores"):
        if key in data:
            data[key] = bounded(data[key])
    problem = _score_problem(data.get("score"))
    scores = data.get("instance_scores")
    if problem is None and isinstance(scores, dict):
        bad = next((k for k, v in scores.items() if not is_number(v)), None)
        if bad is not None:
            problem = f"instance score {str(bad)[:40]!r} is {_shown(scores[bad])}, not a number"
    if problem is not None:
        data["score"] = None
        data["instance_scores"] = None
        if data.get("status") == "ok":
            data["status"] = "invalid"
            data["reason"] = f"the evaluation reported an unusable score: {problem}"
    elif data.get("status") == "ok" and data.get("score") is None:
        data["status"] = "invalid"
        data["reason"] = data.get("reason") or "the evaluation reported no score"
    return data


def _score_problem(score: Any) -> str | None:
    if score is None:
        return None
    if not is_number(score):
        return f"{_shown(score)}, not a number"
    if not math.isfinite(score):
        return f"{score!r} is not a finite number"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
