"""Showing artifacts: which highlighter a file gets, and diffs between two versions.

A candidate is a dict of file name to text; diffs are per file, unified, with files
that appear or disappear shown whole, so a rename or a new helper module is visible.
"""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath

LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cu": "cpp",
    ".cuh": "cpp",
    ".rs": "rust",
    ".go": "go",
    ".js": "javascript",
    ".ts": "typescript",
    ".sh": "bash",
    ".json": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".md": "markdown",
    ".sql": "sql",
}


def language(name: str) -> str | None:
    """The highlighter for a file name; None (plain text) for prompts and the unknown."""
    return LANGUAGES.get(PurePosixPath(name).suffix.lower())


def diff(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> str:
    """A unified diff over every file of two candidates; empty when they are equal."""
    parts: list[str] = []
    for name in sorted(set(old) | set(new)):
        before = old.get(name)
        after = new.get(name)
        if before == after:
            continue
        parts.extend(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"{old_label}/{name}" if before is not None else "/dev/null",
                tofile=f"{new_label}/{name}" if after is not None else "/dev/null",
            )
        )
        if parts and not parts[-1].endswith("\n"):
            parts[-1] += "\n"
    return "".join(parts)


def changed_lines(diff_text: str) -> tuple[int, int]:
    """Lines added and removed in a unified diff (headers excluded)."""
    added = removed = 0
    for line in diff_text.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed
