"""What an evaluation reports is checked as untrusted input before anything keeps it.

The evaluator shares a process with the candidate, so whatever reaches the parent
may have been written by the candidate. Three shapes have hurt the orchestrator:
values nested hundreds of levels deep (the store's JSON cleaning then overflowed
the recursion limit, failing the run and every `resume`), a score that is text
(`"1e9"` was read as a number) and a score that is not finite (stored as `ok` with
no score). Size is the fourth: a 30 MB feedback or a million metrics would be stored,
shown in the UI and sent in the next prompt. Here each becomes something the rest of
the platform can hold: nesting is cut at `MAX_NESTING` levels and width at
`MAX_ITEMS` entries, text is clipped (its start and end kept), and an `ok`
evaluation without a real, finite number as its score is `invalid`, with the reason.
"""

from __future__ import annotations

import math
from typing import Any

MAX_NESTING = 16
"""Levels of dicts and lists kept in metrics, artifacts and instance scores."""
MAX_ITEMS = 20_000
"""Dict entries and list items kept in one of those fields, counted over all levels."""
MAX_STRING = 4_096
"""Characters kept of a string (key or value) inside metrics and instance scores."""
MAX_TEXT = 65_536
"""Characters kept of the feedback and of each artifact."""
MAX_ARTIFACTS_TEXT = 1 << 20
"""Characters kept of all artifacts together; later ones are replaced by `CUT_WIDE`."""
MAX_REASON = 2_000
MAX_STREAM = 1 << 18
"""Characters kept of stdout and stderr: the sandboxes cap them as they read them;
this is the backstop for an outcome from anywhere else (a remote worker)."""

CUT = f"[nested deeper than {MAX_NESTING} levels: cut]"
CUT_WIDE = "[more entries than evoforge keeps: cut]"


def clipped(text: str, limit: int) -> str:
    """`text` within `limit` characters (give or take the marker), start and end kept:
    an evaluator's summary is often at the end of what it prints."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = text[len(text) - (limit - head) :]
    return f"{text[:head]}\n[... {len(text) - limit:,} characters cut ...]\n{tail}"


def bounded(value: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """`value` with every dict or list below `MAX_NESTING` levels replaced by `CUT`,
    entries past `MAX_ITEMS` (over all levels) by one `CUT_WIDE`, and strings clipped
    to `MAX_STRING`.

    The recursion is itself bounded by `MAX_NESTING`, so no input can exhaust the
    stack here."""
    if budget is None:
        budget = [MAX_ITEMS]
    if isinstance(value, str):
        return clipped(value, MAX_STRING)
    if isinstance(value, (dict, list, tuple)):
        if depth >= MAX_NESTING:
            return CUT
        if isinstance(value, dict):
            kept: dict[Any, Any] = {}
            for key, item in value.items():
                if budget[0] <= 0:
                    kept[CUT_WIDE] = CUT_WIDE
                    break
                budget[0] -= 1
                kept[bounded(key, depth, budget)] = bounded(item, depth + 1, budget)
            return kept
        items: list[Any] = []
        for item in value:
            if budget[0] <= 0:
                items.append(CUT_WIDE)
                break
            budget[0] -= 1
            items.append(bounded(item, depth + 1, budget))
        return items
    return value


def _bounded_artifacts(artifacts: Any) -> Any:
    """Artifacts are text meant for a person and the next prompt: each is clipped to
    `MAX_TEXT`, and past `MAX_ARTIFACTS_TEXT` in all the rest are cut."""
    if not isinstance(artifacts, dict):
        return bounded(artifacts)
    kept: dict[Any, Any] = {}
    left = MAX_ARTIFACTS_TEXT
    for number, (key, value) in enumerate(artifacts.items()):
        if number >= MAX_ITEMS or left <= 0:
            kept[CUT_WIDE] = CUT_WIDE
            break
        name = clipped(key, MAX_STRING) if isinstance(key, str) else key
        if isinstance(value, str):
            kept[name] = clipped(value, min(MAX_TEXT, left))
            left -= len(kept[name])
        else:
            kept[name] = bounded(value)
    return kept


def _bounded_scores(scores: Any) -> Any:
    """Instance scores stay a flat mapping of numbers: past `MAX_ITEMS` the rest are
    dropped (a marker would not be a number and would make the evaluation invalid)."""
    if not isinstance(scores, dict):
        return bounded(scores)
    return {
        (clipped(key, MAX_STRING) if isinstance(key, str) else key): bounded(value)
        for _, (key, value) in zip(range(MAX_ITEMS), scores.items(), strict=False)
    }


def is_number(value: Any) -> bool:
    """A real number: an int or float, not a flag and not text that looks like one."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checked_report(data: dict[str, Any]) -> dict[str, Any]:
    """An evaluation's fields as reported, made safe to validate and store."""
    data = dict(data)
    if "metrics" in data:
        data["metrics"] = bounded(data["metrics"])
    if "artifacts" in data:
        data["artifacts"] = _bounded_artifacts(data["artifacts"])
    if "instance_scores" in data:
        data["instance_scores"] = _bounded_scores(data["instance_scores"])
    for key, limit in (
        ("feedback", MAX_TEXT),
        ("reason", MAX_REASON),
        ("stdout", MAX_STREAM),
        ("stderr", MAX_STREAM),
    ):
        if isinstance(data.get(key), str):
            data[key] = clipped(data[key], limit)
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
