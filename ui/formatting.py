"""How numbers read on every page: scores to six significant digits, money, spans."""

from __future__ import annotations

import re
from datetime import datetime

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-=.!|<>~:$&])")
_RUNS = re.compile(r"(\s+)")
_BACKTICKS = re.compile(r"`+")


def literal(text: str) -> str:
    """Untrusted text (a failure reason, a metric or stage name, a model's error) for
    a Markdown element, shown as written: never an image the browser fetches (with
    whatever its URL carries) merely because a page opened, nor a link to click.

    Every character Markdown or Streamlit reads as syntax is escaped. Escaping cannot
    stop GitHub-flavoured Markdown from turning a bare `http://…`, `www.…` or
    `name@host` into a link (it finds them in the text after escapes are resolved),
    so a run of text holding one is shown as inline code instead, which is never
    parsed further."""
    parts: list[str] = []
    for run in _RUNS.split(text):
        lowered = run.lower()
        if "://" in lowered or "www." in lowered or "@" in run:
            parts.append(_code_span(run))
        elif run.isspace() or not run:
            parts.append(run)
        else:
            parts.append(_MARKDOWN_SPECIAL.sub(r"\\\1", run))
    return "".join(parts)


def _code_span(run: str) -> str:
    """`run` (no whitespace in it) as inline code: fenced by more backticks than it
    holds in a row, padded where it starts or ends with one (CommonMark strips the
    padding again)."""
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(run)), default=0) + 1)
    pad = " " if run.startswith("`") or run.endswith("`") else ""
    return f"{fence}{pad}{run}{pad}{fence}"


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.6g}"


def value(found: object) -> str:
    """A metric's value for a table cell: floats as scores are, the rest as written."""
    if found is None:
        return "–"
    if isinstance(found, float):
        return score(found)
    return str(found)


def money(value: float | None) -> str:
    """Dollars the same way on every page and in the Runs table (`MONEY_FORMAT`): four
    decimals under a dollar, where model calls cost fractions of a cent, so "$0.0000"
    and "$0" never both stand for nothing spent; cents above."""
    value = float(value or 0.0)
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


MONEY_FORMAT = "$%.4f"
"""The Runs table's spend column: a number (so it sorts), read like `money` under $1."""


def difference(new: float, old: float) -> str:
    """`new − old` signed to six digits; a difference lost in floating-point noise
    (1.4e-17 between two equal scores) reads as 0, not as a number of its own."""
    delta = new - old
    if abs(delta) <= 1e-12 * max(abs(new), abs(old), 1e-300):
        return "0"
    return f"{delta:+.6g}"


def against_seed(best: float | None, seed: float | None, direction: str) -> str | None:
    """How far the best moved from the seed, in the words a reader checks it in: "+14.9%
    over the seed" (higher is better) or "12.0% below the seed" (lower is better). None
    when there is nothing to compare or the seed is 0 (no percentage of it exists)."""
    if best is None or seed is None or seed == 0:
        return None
    change = (best - seed) / abs(seed)
    if direction == "maximize":
        return f"{change:+,.1%} over the seed"
    if change == 0:
        return "level with the seed"
    return f"{abs(change):,.1%} {'below' if change < 0 else 'above'} the seed"


def against_reference(
    best: float | None, reference: float | None, direction: str, name: str = "the reference"
) -> str | None:
    """The best as a share of the reference, "89.6% of the reference", when both are
    positive; otherwise the plain difference. Lower-is-better tasks say so, since there
    100% and more is not yet reaching the reference."""
    if best is None or reference is None:
        return None
    if best > 0 and reference > 0:
        share = f"{best / reference:,.1%} of {name}"
        return share if direction == "maximize" else f"{share} (lower is better)"
    return f"{difference(best, reference)} from {name}"


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
