"""Keep secrets off the screen: API keys, tokens and passwords in stored options.

Model keys are read from the environment and never stored by evoforge itself, but a
user's config file may carry one inline (`api_key = "sk-…"`) and the run options keep
what they were given. Anything under a key-like name, and any value that looks like
a provider key, is masked before a page shows it.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "•••• (hidden)"
SECRET_NAME = re.compile(r"(api[_-]?key|secret|token|password|passwd|credential|auth)", re.I)
SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16})")
"""Shapes of common provider keys (OpenAI/Anthropic-style `sk-`, GitHub, AWS)."""
SAFE_NAMES = frozenset({"api_key_env", "tokens_in", "tokens_out", "max_tokens"})
"""Key-like names that hold no secret: the name of an environment variable, counts."""


def redact(value: Any, name: str = "") -> Any:
    if isinstance(value, dict):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, name) for item in value]
    if name and name not in SAFE_NAMES and SECRET_NAME.search(name) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return SECRET_VALUE.sub(MASK, value)
    return value
