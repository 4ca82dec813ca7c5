"""The labelled support messages: the instance specs of every split.

The data is the spec here (there is nothing to generate): each instance is
`{"id", "text", "label"}` exactly as `data.json` stores it, so a run's stored
instance scores name the message they came from. The file is read once per process.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

DATA_PATH = Path(__file__).with_name("data.json")
SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")


@cache
def _data() -> dict[str, Any]:
    return json.loads(DATA_PATH.read_text("utf-8"))


def labels() -> tuple[str, ...]:
    """The labels in the order the prompt rules and the feedback list them."""
    return tuple(_data()["labels"])


def split(name: str) -> list[dict[str, str]]:
    """A fresh copy of one split's instance specs (callers may not mutate the cache)."""
    if name not in SPLIT_NAMES:
        raise ValueError(f"no split {name!r}; splits are {', '.join(SPLIT_NAMES)}")
    return [dict(item) for item in _data()[name]]


def ambiguous_ids() -> frozenset[str]:
    """Messages written to sit between two labels; the README explains each label choice."""
    return frozenset(_data()["ambiguous"])


def label_balance(name: str) -> dict[str, int]:
    """How many messages of each label a split holds (documented in the README)."""
    counts = Counter(item["label"] for item in _data()[name])
    return {label: counts.get(label, 0) for label in labels()}
