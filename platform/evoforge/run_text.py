"""Sentences about a run summary that `evoforge show` and the UI's run page both print,
kept in one place so the terminal and the browser never tell a run's story differently."""

from __future__ import annotations

from typing import Any


def failure_lines(summary: dict[str, Any]) -> list[str]:
    """One line per failure group, e.g. "10 of 10 failed: No module named 'torch'", so a
    failed run says why in its own output instead of only in the store."""
    total = summary["evaluations"]["total"]
    groups = summary.get("failures") or []
    lines = [f"{g['count']:,} of {total:,} {g['status']}: {g['reason']}" for g in groups]
    not_ok = total - summary["evaluations"].get("ok", 0)
    rest = not_ok - sum(g["count"] for g in groups)
    if rest > 0:
        lines.append(f"{rest:,} of {total:,} more, in smaller groups of other reasons")
    return lines
