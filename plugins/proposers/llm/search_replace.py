"""Diff mode: turn a model's SEARCH/REPLACE blocks into a child artifact.

The prompt asks the model for blocks of this shape (inside or outside code fences):

    <<<<<<< SEARCH program.py
        x = 1.0
    =======
        x = 2.0
    >>>>>>> REPLACE

Small edits cost the model far fewer tokens than rewriting a file, and they keep the
rest of the file byte for byte, which is why this is the default mode. Models are
sloppy in predictable ways, so the parser is lenient where it cannot change meaning
(5 to 9 marker characters, CRLF line ends, trailing spaces, the aider habit of naming
the file on the line above) and strict where it can: indentation must match, a SEARCH
text must match exactly one place inside the evolve blocks (and a SEARCH text that
only matches once line ends are forgiven must match one place in the whole file), and
frozen text never changes. The forgiven slips are reported (`leniency.py`).

Every failure raises `EditRejected` with a one-line reason that names the block and
file, because that reason is shown to the model in later prompts. Application is all
or nothing: one bad block rejects the whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from evoforge.evolve_blocks import (
    END,
    START,
    EvolveBlockError,
    Region,
    frozen_parts,
    has_markers,
    line_offsets,
    regions,
)
from evoforge.plugins.proposers.llm.edit_errors import EditRejected
from evoforge.plugins.proposers.llm.leniency import CRLF, TRAILING_WHITESPACE, Forgiven

_SEARCH_RE = re.compile(r"^<{5,9}[ \t]*SEARCH\b(?P<name>.*?)\s*$")
_DIVIDER_RE = re.compile(r"^={5,}\s*$")
_REPLACE_RE = re.compile(r"^>{5,9}[ \t]*REPLACE\b\s*$")
_FENCE_RE = re.compile(r"^\s*(?:`{3,}|~{3,})")
# Decoration a model may put around a file name: backticks, quotes, bold, a heading.
_NAME_DECORATION = "`'\"*#:()[] \t"

_FORMAT_HINT = (
    "answer with one or more blocks of the form '<<<<<<< SEARCH <file>', the exact "
    "current lines, '=======', the new lines, '>>>>>>> REPLACE'"
)


@dataclass(frozen=True)
class SearchReplaceBlock:
    """One SEARCH/REPLACE block of an answer.

    `file` is the file the block names (None when it names none); `search` and
    `replace` are whole lines, each ending with a newline (`replace` may be empty, a
    deletion); `index` is the block's 1-based position in the answer, used in reasons.
    """

    file: str | None
    search: str
    replace: str
    index: int


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    line: int
    last_line: int


def _clean_name(raw: str) -> str | None:
    name = raw.strip(_NAME_DECORATION)
    if name.startswith("./"):
        name = name[2:]
    return name or None


def _name_above(lines: list[str], index: int, names: Collection[str]) -> str | None:
    """The aider-style file name on its own line above a SEARCH marker, if it is known.

    Blank lines and a fence opening between the name and the marker are skipped.
    """
    for line in reversed(lines[:index]):
        if not line.strip() or _FENCE_RE.match(line):
            continue
        name = _clean_name(line)
        return name if name in names else None
    return None


def parse_blocks(
    answer: str, names: Collection[str] = (), forgiven: Forgiven | None = None
) -> list[SearchReplaceBlock]:
    """The SEARCH/REPLACE blocks of `answer`, in order.

    `names` are the artifact's file names; when given, a file name alone on the line
    before a SEARCH marker that names no file is taken as the block's file (aider
    style). Raises `EditRejected` when the answer holds no block or a block is
    malformed, naming the block. CRLF line ends are read as LF and noted in `forgiven`.
    """
    if "\r\n" in answer and forgiven is not None:
        forgiven.add(CRLF)
    lines = answer.replace("\r\n", "\n").split("\n")
    blocks: list[SearchReplaceBlock] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _REPLACE_RE.match(line):
            raise EditRejected(
                f"SEARCH/REPLACE block {len(blocks) + 1} has a '>>>>>>> REPLACE' line but no "
                f"'<<<<<<< SEARCH' line above it; {_FORMAT_HINT}"
            )
        opening = _SEARCH_RE.match(line)
        if opening is None:
            index += 1
            continue
        number = len(blocks) + 1
        name = _clean_name(opening.group("name")) or _name_above(lines, index, names)
        search, index = _collect(lines, index + 1, number, part="SEARCH")
        replace, index = _collect(lines, index + 1, number, part="REPLACE")
        blocks.append(SearchReplaceBlock(name, search, replace, number))
        index += 1
    if not blocks:
        raise EditRejected(f"the answer holds no SEARCH/REPLACE block; {_FORMAT_HINT}")
    return blocks


def _collect(lines: list[str], index: int, number: int, part: str) -> tuple[str, int]:
    """The text of one part of block `number` from line `index`, and the line ending it."""
    wanted, other = (_DIVIDER_RE, _REPLACE_RE) if part == "SEARCH" else (_REPLACE_RE, None)
    body: list[str] = []
    for position in range(index, len(lines)):
        line = lines[position]
        if wanted.match(line):
            return "".join(f"{text}\n" for text in body), position
        if _SEARCH_RE.match(line) or (other is not None and other.match(line)):
            break
        body.append(line)
    if part == "SEARCH":
        raise EditRejected(
            f"SEARCH/REPLACE block {number} has no '=======' line between its SEARCH and "
            f"REPLACE parts; {_FORMAT_HINT}"
        )
    raise EditRejected(
        f"SEARCH/REPLACE block {number} is not closed by a '>>>>>>> REPLACE' line "
        f"(was the answer cut off?); {_FORMAT_HINT}"
    )


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, the end just past its newline."""
    if not text:
        return []
    starts = line_offsets(text)
    ends = [*starts[1:], len(text)]
    return list(zip(starts, ends, strict=True))


_EXACT, _LINE_ENDS, _LOOSE = "exact", CRLF, TRAILING_WHITESPACE
"""How `_find` compares lines, strictest first: as they are, without a final CR, and
without any trailing whitespace (never indentation)."""


def _compared(line: str, how: str) -> str:
    if how == _LINE_ENDS:
        return line.removesuffix("\r")
    return line.rstrip() if how == _LOOSE else line


def _find(text: str, search: str, how: str = _EXACT) -> list[_Match]:
    """Every place where `search`'s lines equal whole lines of `text`.

    `how` says what line differences are ignored (`_EXACT`, `_LINE_ENDS`, `_LOOSE`).
    Whole lines only, so a SEARCH line can never match the tail of a longer or more
    indented line.
    """
    wanted = [_compared(line, how) for line in search.split("\n")[:-1]]  # ends with \n
    spans = _line_spans(text)
    have = [_compared(text[start:end].removesuffix("\n"), how) for start, end in spans]
    count = len(wanted)
    found: list[_Match] = []
    for first in range(len(have) - count + 1):
        if have[first : first + count] == wanted:
            start, end = spans[first][0], spans[first + count - 1][1]
            found.append(_Match(start, end, first + 1, first + count))
    return found


def _inside(found: list[_Match], blocks: list[Region]) -> list[_Match]:
    return [m for m in found if any(r.contains(m.start, m.end) for r in blocks)]


def _locate(text: str, search: str, blocks: list[Region]) -> tuple[list[_Match], list[_Match], str]:
    """The matches inside the evolve blocks, all matches, and the comparison that found
    them: the strictest one that matches inside a block wins."""
    found: list[_Match] = []
    for how in (_EXACT, _LINE_ENDS, _LOOSE):
        found = _find(text, search, how)
        inside = _inside(found, blocks)
        if inside:
            return inside, found, how
    return [], found, _LOOSE


def _regions(text: str, name: str) -> list[Region]:
    try:
        return regions(text, name)
    except EvolveBlockError as exc:
        raise EditRejected(str(exc)) from exc


def _first_line(search: str) -> str:
    line = next((line for line in search.split("\n") if line.strip()), "")
    return repr(line if len(line) <= 80 else line[:77] + "...")


def _editable_lines(blocks: list[Region]) -> str:
    spans = [
        f"{r.start_line}-{r.end_line}" if r.end_line > r.start_line else str(r.start_line)
        for r in blocks
        if r.end_line >= r.start_line
    ]
    return ", ".join(spans) or "none"


def _lines_of(match: _Match) -> str:
    if match.last_line == match.line:
        return f"line {match.line}"
    return f"lines {match.line}-{match.last_line}"


def _resolve_file(files: dict[str, str], block: SearchReplaceBlock) -> str:
    """The file a block edits: the one it names, the only file, or the only one it fits."""
    known = ", ".join(sorted(files))
    if block.file is not None:
        if block.file not in files:
            raise EditRejected(
                f"SEARCH/REPLACE block {block.index} names {block.file}, which is not a file "
                f"of the program; the files are: {known}"
            )
        return block.file
    if len(files) == 1:
        return next(iter(files))
    counts = {
        name: len(_locate(text, block.search, _regions(text, name))[0])
        for name, text in sorted(files.items())
    }
    fitting = [name for name, count in counts.items() if count == 1]
    if len(fitting) == 1:
        return fitting[0]
    if any(counts.values()):
        where = "does not match exactly one place in exactly one of"
    else:
        where = "matches none of"
    raise EditRejected(
        f"SEARCH/REPLACE block {block.index} names no file and {where} the files "
        f"({known}); write the file name after SEARCH, e.g. '<<<<<<< SEARCH {min(files)}'"
    )


def _check_block(block: SearchReplaceBlock) -> None:
    """Problems visible in the block alone, before it is matched against any file."""
    label = f"SEARCH block {block.index}" + (f" for {block.file}" if block.file else "")
    if not block.search.strip():
        raise EditRejected(
            f"{label} is empty; to insert code, put the existing line(s) next to the "
            "insertion point in SEARCH and repeat them in REPLACE together with the new code"
        )


def _apply_one(text: str, name: str, block: SearchReplaceBlock, forgiven: Forgiven) -> str:
    label = f"SEARCH block {block.index} for {name}"
    if has_markers(block.replace):
        raise EditRejected(
            f"REPLACE part of block {block.index} for {name} holds an {START}/{END} marker "
            "line; markers cannot be added, moved or removed, edit only the lines between them"
        )
    blocks = _regions(text, name)
    inside, anywhere, how = _locate(text, block.search, blocks)
    if not anywhere:
        hint = ""
        if _find_dedented(text, block.search):
            hint = "the lines exist with a different indentation; "
        raise EditRejected(
            f"{label} does not match the file (its first line is {_first_line(block.search)}); "
            f"{hint}copy the SEARCH lines exactly from the current program, indentation included"
        )
    if not inside:
        first = anywhere[0]
        where = "which lies" if first.line == first.last_line else "which lie at least partly"
        raise EditRejected(
            f"{label} matches {_lines_of(first)}, {where} outside the evolve blocks "
            f"(editable lines: {_editable_lines(blocks)}); change only the lines between the "
            f"{START} and {END} markers, not the markers themselves"
        )
    if len(inside) > 1:
        places = ", ".join(str(m.line) for m in inside)
        raise EditRejected(
            f"{label} is ambiguous: it matches {len(inside)} places in the evolve blocks "
            f"(lines {places}); add surrounding lines to SEARCH so it matches only one"
        )
    if how != _EXACT and len(anywhere) > 1:
        places = ", ".join(str(m.line) for m in anywhere)
        raise EditRejected(
            f"{label} matches no place exactly, and {len(anywhere)} places (lines {places}) "
            "once line ends and trailing spaces are ignored; copy the SEARCH lines exactly "
            "from the current program"
        )
    if how != _EXACT:
        forgiven.add(how)
    match = inside[0]
    replace = block.replace
    if "\r\n" in text[match.start : match.end]:
        replace = replace.replace("\n", "\r\n")  # keep a CRLF file's line endings
    if not text.endswith("\n", match.start, match.end):
        # The match ran to the end of a file without a final newline: keep it so.
        ending = "\r\n" if replace.endswith("\r\n") else "\n"
        replace = replace.removesuffix(ending)
    return text[: match.start] + replace + text[match.end :]


def _find_dedented(text: str, search: str) -> bool:
    """Whether the SEARCH lines occur in `text` once indentation is ignored."""
    wanted = [line.strip() for line in search.split("\n")[:-1]]
    have = [line.strip() for line in text.split("\n")]
    count = len(wanted)
    return any(have[i : i + count] == wanted for i in range(len(have) - count + 1))


def _check_frozen(parent: dict[str, str], child: dict[str, str]) -> None:
    """Belt and braces: no file may differ from its parent outside the evolve blocks."""
    for name in sorted(child):
        if child[name] == parent[name]:
            continue
        try:
            same = frozen_parts(parent[name], name) == frozen_parts(child[name], name)
        except EvolveBlockError as exc:
            raise EditRejected(
                f"the edit of {name} changes text outside the evolve blocks ({exc}); "
                f"edit only the lines between the {START} and {END} markers"
            ) from exc
        if not same:
            raise EditRejected(
                f"the edit of {name} changes text outside the evolve blocks; edit only the "
                f"lines between the {START} and {END} markers"
            )


def apply_blocks(
    files: dict[str, str], blocks: list[SearchReplaceBlock], forgiven: Forgiven | None = None
) -> dict[str, str]:
    """The child artifact: `files` with every block applied, in order.

    Returns a new dict (unchanged files kept, `files` untouched). All or nothing: any
    block that cannot be applied raises `EditRejected` and nothing is applied. The
    slips forgiven to make a block match are added to `forgiven`.
    """
    child = dict(files)
    noted: Forgiven = set()
    for block in blocks:
        _check_block(block)
        name = _resolve_file(child, block)
        child[name] = _apply_one(child[name], name, block, noted)
    _check_frozen(files, child)
    if child == files:
        raise EditRejected(
            "the SEARCH/REPLACE blocks are a no-op: they leave the program unchanged; "
            "make REPLACE differ from SEARCH"
        )
    if forgiven is not None:
        forgiven |= noted
    return child


def apply_answer(
    files: dict[str, str], answer: str, forgiven: Forgiven | None = None
) -> dict[str, str]:
    """Parse `answer` and apply its blocks to `files` (see `parse_blocks`, `apply_blocks`)."""
    noted: Forgiven = set()
    child = apply_blocks(files, parse_blocks(answer, names=files, forgiven=noted), noted)
    if forgiven is not None:
        forgiven |= noted
    return child
