"""Find the `EVOLVE-BLOCK-START` / `EVOLVE-BLOCK-END` regions of an artifact file.

A task author marks the parts of a file a proposer may change with two marker lines,
written in whatever comment syntax the file uses (``# EVOLVE-BLOCK-START``,
``// EVOLVE-BLOCK-END``, ``<!-- EVOLVE-BLOCK-START -->``, ...). Everything between a
START line and the next END line is evolvable; the marker lines themselves and all
text outside the blocks are frozen. A file with no markers at all is wholly evolvable,
so a task that does not care needs no markers.

Mistakes in the markers are the task author's to fix, so they raise
`EvolveBlockError` naming the file and the line rather than guessing.

Pure functions over strings: the offline and LLM proposers both use them, and so can
a validator that checks a child left the frozen text alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"

# A marker line, matched from the line's start: optional indentation, an optional
# comment leader made of punctuation (#, //, /*, --, ;, %, <!--, ...), then the marker
# as a whole word. Requiring the marker to open the line (after the leader) keeps a
# string literal that merely mentions it, like the constants above, from counting.
_MARKER = re.compile(r"[ \t]*(?:[^\w\s'\"`]{1,4}[ \t]*)?EVOLVE-BLOCK-(START|END)\b")


class EvolveBlockError(ValueError):
    """The evolve-block markers of a file are unbalanced or nested."""

    def __init__(self, name: str, line: int, problem: str) -> None:
        super().__init__(f"{name} line {line}: {problem}")
        self.name = name
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Region:
    """The evolvable text between one START and END marker line.

    `start`/`end` are character offsets into the file (`text[start:end]` is the body,
    marker lines excluded); `start_line`/`end_line` are the 1-based first and last body
    lines (`end_line == start_line - 1` for an empty block). `marked` is False for the
    implicit region that covers a file without markers.
    """

    start: int
    end: int
    start_line: int
    end_line: int
    marked: bool = True

    def body(self, text: str) -> str:
        return text[self.start : self.end]

    def contains(self, start: int, end: int) -> bool:
        """Whether the span `[start, end)` lies wholly inside this region's body."""
        return self.start <= start <= end <= self.end


def line_offsets(text: str) -> list[int]:
    """Character offset at which each line starts (lines split on ``\\n`` only).

    Splitting on ``\\n`` alone matches `tokenize` reading through `io.StringIO`, so
    offsets computed here and token positions agree even with form feeds in a file.
    """
    offsets = [0]
    offsets.extend(m.end() for m in re.finditer("\n", text))
    if offsets[-1] == len(text) and len(offsets) > 1:
        offsets.pop()  # a trailing newline does not start another line
    return offsets


def has_markers(text: str) -> bool:
    """Whether the file declares any evolve blocks (else it is wholly evolvable)."""
    return any(_MARKER.match(line) for line in text.split("\n"))


def regions(text: str, name: str = "<text>") -> list[Region]:
    """The evolvable regions of `text`, in file order.

    A file without markers yields one region covering the whole text. Raises
    `EvolveBlockError` for an END without a START, a START inside an open block
    (blocks do not nest) or a START never closed.
    """
    offsets = line_offsets(text)
    found: list[Region] = []
    open_line = 0  # 1-based line of the START marker of the open block, 0 when none
    open_body = 0  # offset just after that marker line
    for index, line_start in enumerate(offsets):
        line_end = offsets[index + 1] if index + 1 < len(offsets) else len(text)
        match = _MARKER.match(text, line_start, line_end)
        if match is None:
            continue
        lineno = index + 1
        if match.group(1) == "START":
            if open_line:
                raise EvolveBlockError(
                    name,
                    lineno,
                    f"{START} inside the block opened at line {open_line}; "
                    f"close it with {END} first (blocks cannot nest)",
                )
            open_line, open_body = lineno, line_end
        else:
            if not open_line:
                raise EvolveBlockError(name, lineno, f"{END} without a matching {START} above it")
            found.append(Region(open_body, line_start, open_line + 1, lineno - 1))
            open_line = 0
    if open_line:
        raise EvolveBlockError(name, open_line, f"{START} is never closed by an {END}")
    if not found:
        return [Region(0, len(text), 1, len(offsets), marked=False)]
    return found


def is_inside(text: str, start: int, end: int, name: str = "<text>") -> bool:
    """Whether the character span `[start, end)` of `text` lies inside one region.

    An empty span (`start == end`, an insertion point) counts as inside when it sits
    within or at either edge of a region body.
    """
    return any(region.contains(start, end) for region in regions(text, name))


def replace_regions(text: str, bodies: Sequence[str], name: str = "<text>") -> str:
    """Return `text` with each region's body replaced by the matching entry of `bodies`.

    The marker lines and everything outside the blocks are kept byte for byte. A body
    that does not end with a newline gets one, so the END marker stays on its own line.
    """
    found = regions(text, name)
    if len(bodies) != len(found):
        raise ValueError(
            f"{name} has {len(found)} evolve block(s) but {len(bodies)} replacement(s) were given"
        )
    pieces: list[str] = []
    cursor = 0
    for region, body in zip(found, bodies, strict=True):
        if region.marked and body and not body.endswith("\n"):
            body += "\n"
        pieces.append(text[cursor : region.start])
        pieces.append(body)
        cursor = region.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def frozen_parts(text: str, name: str = "<text>") -> list[str]:
    """The text outside the regions (marker lines included), in order.

    Two versions of a file differ only inside their evolve blocks exactly when their
    `frozen_parts` are equal, which is how a proposer checks an edit kept to the blocks.
    """
    found = regions(text, name)
    parts: list[str] = []
    cursor = 0
    for region in found:
        parts.append(text[cursor : region.start])
        cursor = region.end
    parts.append(text[cursor:])
    return parts
