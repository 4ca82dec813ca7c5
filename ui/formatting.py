"""How numbers read on every page: scores to six significant digits, money, spans."""

from __future__ import annotations

import re
from datetime import datetime

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def literal(text: str) -> str:
    """Untrusted text (a failure reason, a model's error, a stop reason) for a
    Markdown element, shown as written: every character Markdown or Streamlit would
    read as syntax is escaped, so `![x](http://...)` is text, never an image the
    browser fetches (with whatever the URL carries) merely because a page opened."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.6g}"


def money(value: float | None) -> str:
    if not value:
        return "$0"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def moment(iso: str | None) -> str:
    """An ISO timestamp as `YYYY-MM-DD HH:MM:SS` UTC, for tables."""
    if not iso:
        return "–"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
