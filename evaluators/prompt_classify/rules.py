"""The structural rules a prompt must meet before any model call is paid for.

A prompt that never names a label cannot teach the model to answer with it, and an
enormous one costs tokens on every message, so both are rejected up front (the
`smoke` stage) with a reason the proposer can act on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_CHARS = 4000


def missing_labels(prompt: str, labels: Sequence[str]) -> list[str]:
    """Labels the prompt never names as a whole word (case-insensitive).

    Whole words, so `other` inside "another" or `bug` inside "debug" does not count:
    the model must see the exact token it is expected to answer with.
    """
    return [
        label
        for label in labels
        if not re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", prompt, re.IGNORECASE)
    ]


def prompt_fault(prompt: str, labels: Sequence[str]) -> str | None:
    """Why the prompt is structurally unusable, in one line; None when it is fine."""
    listed = ", ".join(labels)
    if not prompt.strip():
        return f"the prompt is empty; write a system prompt that names the labels {listed}"
    if len(prompt) > MAX_CHARS:
        return f"the prompt has {len(prompt):,} characters; the limit is {MAX_CHARS:,}"
    missing = missing_labels(prompt, labels)
    if missing:
        return (
            f"the prompt does not mention the label(s) {', '.join(missing)}; "
            f"name every label the model must answer with ({listed})"
        )
    return None
