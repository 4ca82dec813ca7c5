"""Read spot availability traces in the public "Can't Be Late" JSON format.

The real traces are only used to fit the synthetic generator (`fit.py`) and in tests;
the task never needs them. A malformed file should stop the fit with a message that
names the file and the fault, not with a KeyError deep inside the statistics.

Format: ``{"metadata": {"gap_seconds": 600}, "data": [0 | 1, ...]}``, one entry per
tick, where 1 means spot capacity was unavailable (preempted) in that tick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class TraceFormatError(ValueError):
    """The file is not a valid availability trace; the message names file and fault."""


@dataclass(frozen=True)
class Trace:
    """One availability trace: `available[t]` is True when spot could run in tick t."""

    name: str
    gap_seconds: int
    available: tuple[bool, ...]

    @property
    def availability(self) -> float:
        """Share of ticks in which spot was available."""
        return sum(self.available) / len(self.available)


def parse_trace(document: object, name: str = "<trace>") -> Trace:
    """Validate a decoded JSON document and turn it into a `Trace`."""
    if not isinstance(document, dict):
        raise TraceFormatError(f"{name}: expected a JSON object, got {type(document).__name__}")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        raise TraceFormatError(f"{name}: missing the 'metadata' object")
    gap = metadata.get("gap_seconds")
    if isinstance(gap, bool) or not isinstance(gap, int) or gap <= 0:
        raise TraceFormatError(
            f"{name}: metadata.gap_seconds must be a positive integer, got {gap!r}"
        )
    data = document.get("data")
    if not isinstance(data, list) or not data:
        raise TraceFormatError(f"{name}: 'data' must be a non-empty list of 0/1 ticks")
    for index, value in enumerate(data):
        if isinstance(value, bool) or value not in (0, 1):
            raise TraceFormatError(f"{name}: data[{index}] is {value!r}; every tick must be 0 or 1")
    return Trace(name=name, gap_seconds=gap, available=tuple(value == 0 for value in data))


def load_trace(path: str | Path) -> Trace:
    """Load one trace file; the trace (and every error about it) is named after its stem."""
    path = Path(path)
    try:
        document = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"{path.stem}: not valid JSON ({exc})") from exc
    return parse_trace(document, path.stem)


def _is_trace_document(path: Path) -> bool:
    """Whether a JSON file sets out to be a trace: the public folder also holds other
    JSON (the leaderboard's window list), which holds neither `metadata` nor `data`.
    A file with either is a trace, and a malformed one still stops the load."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError:
        return True  # `load_trace` says what is wrong with it
    return not isinstance(document, dict) or "metadata" in document or "data" in document


def load_folder(folder: str | Path) -> list[Trace]:
    """Every `*.json` trace in a folder, sorted by name so fits are reproducible."""
    folder = Path(folder)
    paths = [path for path in sorted(folder.glob("*.json")) if _is_trace_document(path)]
    if not paths:
        raise FileNotFoundError(f"no *.json traces in {folder}")
    return [load_trace(path) for path in paths]


def run_lengths(available: tuple[bool, ...] | list[bool]) -> list[tuple[bool, int]]:
    """The trace as alternating stretches: (available?, length in ticks), in order."""
    stretches: list[tuple[bool, int]] = []
    for value in available:
        if stretches and stretches[-1][0] == value:
            stretches[-1] = (value, stretches[-1][1] + 1)
        else:
            stretches.append((value, 1))
    return stretches
