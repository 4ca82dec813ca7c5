"""Full-rewrite and crossover modes: turn a model's whole-file answer into a child.

The prompt asks the model to answer with each file it rewrites as a heading naming
the file (``### program.py``) followed by a fenced code block holding the whole new
file, with everything outside the evolve blocks (and the marker lines) unchanged.

Models restate frozen code imperfectly (CRLF line ends, a dropped trailing space, a
missing final newline), so the frozen text of a rewrite is only compared after
normalising that, and the child is built by splicing the rewrite's block bodies into
the parent: frozen text stays byte for byte the parent's, and a CRLF file keeps its
line ends. The slips forgiven are reported (`leniency.py`). Anything that does change
frozen text, loses a marker or arrives truncated raises `EditRejected` with a one-line
reason for the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evoforge.evolve_blocks import (
    END,
    START,
    EvolveBlockError,
    Region,
    frozen_parts,
    has_markers,
    regions,
    replace_regions,
)
from evoforge.plugins.proposers.llm.edit_errors import EditRejected
from evoforge.plugins.proposers.llm.leniency import CRLF, TRAILING_WHITESPACE, Forgiven

_OPEN_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# A line that announces a file rather than discussing one: a heading, bold text or
# a "File:" label. Looked for above a fence when the line right above names no file.
_HEADING_RE = re.compile(r"^\s*(?:#{1,6}\s|\*\*|__|(?:file|filename|path)\s*:)", re.IGNORECASE)


@dataclass(frozen=True)
class _Fence:
    """One closed fenced code block: its info string, its text and the lines above it."""

    info: str
    text: str
    above: list[str]


def _mentions(line: str, name: str) -> int:
    """Where `line` names file `name` as a whole path (optionally ``./``), or -1."""
    pattern = r"(?<![\w/.-])(?:\./)?" + re.escape(name) + r"(?![\w/-]|\.\w)"
    match = re.search(pattern, line)
    return match.start() if match else -1


def _named(line: str, names: list[str]) -> str | None:
    """The known file named first in `line`, if any."""
    hits = [(pos, -len(name), name) for name in names if (pos := _mentions(line, name)) >= 0]
    return min(hits)[2] if hits else None


def _is_close(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
    )


def _fences(answer: str) -> list[_Fence]:
    """The closed fenced code blocks of `answer`, each with the prose lines above it."""
    lines = answer.replace("\r\n", "\n").split("\n")
    found: list[_Fence] = []
    prose: list[str] = []
    index = 0
    while index < len(lines):
        opening = _OPEN_RE.match(lines[index])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            prose.append(lines[index])
            index += 1
            continue
        fence = opening.group("fence")
        body: list[str] = []
        index += 1
        while index < len(lines) and not _is_close(lines[index], fence):
            body.append(lines[index])
            index += 1
        if index == len(lines):
            raise EditRejected(
                "the answer's last code block is not closed (was it cut off at max_tokens?); "
                "answer with shorter code or fewer files so the whole answer fits"
            )
        found.append(_Fence(opening.group("info"), "".join(f"{b}\n" for b in body), prose))
        prose = []
        index += 1
    return found


def _attribute(fence: _Fence, names: list[str]) -> str | None:
    """The file a fence holds, by its info string or the line(s) right above it."""
    named = _named(fence.info, names)
    if named is not None:
        return named
    above = [line for line in reversed(fence.above) if line.strip()]
    if not above:
        return None
    named = _named(above[0], names)
    if named is not None:
        return named
    for line in above[1:]:
        if _HEADING_RE.match(line):
            named = _named(line, names)
            if named is not None:
                return named
    return None


def extract_files(answer: str, names: list[str]) -> dict[str, str]:
    """The fenced code blocks of `answer` attributed to the artifact's file `names`.

    A fence belongs to a file when its info string names it (```` ```python program.py ````),
    when the nearest non-empty line above it does (``### program.py``, ``**program.py**``,
    ``File: program.py``) or, failing that, the nearest heading above it since the previous
    fence. With a single-file artifact, an answer whose fences name no file gives its first
    fence to that file. When two fences name the same file the later one wins (a model
    that restates a file has usually revised it). Returns {} when nothing is attributable;
    raises `EditRejected` when the answer's last fence is not closed (a truncated answer).
    """
    fences = _fences(answer)
    found: dict[str, str] = {}
    for fence in fences:
        name = _attribute(fence, names)
        if name is not None:
            found[name] = fence.text
    if not found and len(names) == 1 and fences:
        found[names[0]] = fences[0].text
    return found


def _normalised(part: str) -> list[str]:
    return [line.rstrip() for line in part.split("\n")]


def _slips(old: str, new: str) -> Forgiven:
    """What separates two texts that agree once trailing whitespace is dropped."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    slips: Forgiven = set()
    for a, b in zip(old_lines, new_lines, strict=False):
        if a.removesuffix("\r") != b.removesuffix("\r"):
            slips.add(TRAILING_WHITESPACE)
        elif a != b:
            slips.add(CRLF)
    return slips


def _frozen_mismatch(parent: str, rewrite: str, name: str, forgiven: Forgiven) -> str | None:
    """Where the rewrite's frozen text differs from the parent's, or None if it does not.

    Line ends, trailing whitespace on each line and trailing newlines at the end of the
    file are forgiven (and the first two noted in `forgiven`): models drop them, and
    the child keeps the parent's bytes anyway.
    """
    theirs = frozen_parts(rewrite, name)
    ours = frozen_parts(parent, name)
    starts = [0, *(r.end for r in regions(parent, name))]
    for position, (old, new) in enumerate(zip(ours, theirs, strict=True)):
        old_lines, new_lines = _normalised(old), _normalised(new)
        if position == len(ours) - 1:
            while old_lines and not old_lines[-1]:
                old_lines.pop()
            while new_lines and not new_lines[-1]:
                new_lines.pop()
        if old_lines == new_lines:
            forgiven |= _slips(old, new)
            continue
        first_line = parent.count("\n", 0, starts[position]) + 1
        for offset, (a, b) in enumerate(zip(old_lines, new_lines, strict=False)):
            if a != b:
                return f"line {first_line + offset} {a!r} became {b!r}"
        if len(old_lines) > len(new_lines):
            missing = old_lines[len(new_lines)]
            return f"line {first_line + len(new_lines)} {missing!r} is missing"
        added = new_lines[len(old_lines)]
        return f"line {added!r} was added after line {first_line + len(old_lines) - 1}"
    return None


def _marked_child(
    parent: str, rewrite: str, name: str, parent_blocks: list[Region], forgiven: Forgiven
) -> str:
    """The parent with the rewrite's block bodies spliced in, frozen text kept."""
    keep = f"keep the {START}/{END} markers and send the WHOLE file"
    try:
        new_blocks = regions(rewrite, name) if has_markers(rewrite) else []
    except EvolveBlockError as exc:
        raise EditRejected(f"the rewrite of {name} has broken markers ({exc}); {keep}") from exc
    if len(new_blocks) != len(parent_blocks):
        raise EditRejected(
            f"the rewrite of {name} has {len(new_blocks)} evolve blocks, the current file has "
            f"{len(parent_blocks)}; {keep}"
        )
    mismatch = _frozen_mismatch(parent, rewrite, name, forgiven)
    if mismatch is not None:
        raise EditRejected(
            f"the rewrite of {name} changes text outside the evolve blocks ({mismatch}); "
            "keep everything outside the evolve blocks, and the marker lines, exactly as they are"
        )
    bodies = [r.body(rewrite) for r in new_blocks]
    if "\r\n" in parent:  # the answer's lines were read as LF: keep the file's CRLF
        bodies = [body.replace("\r\n", "\n").replace("\n", "\r\n") for body in bodies]
    return replace_regions(parent, bodies, name)


def _whole_child(parent: str, rewrite: str, name: str) -> str:
    """A file without markers is wholly evolvable: the rewrite replaces it."""
    if has_markers(rewrite):
        raise EditRejected(
            f"the rewrite of {name} adds {START}/{END} markers the current file does not have; "
            "leave the markers out"
        )
    if not rewrite.strip() and parent.strip():
        raise EditRejected(
            f"the rewrite of {name} is empty; send the whole new file in the code block"
        )
    if "\r\n" in parent:  # the answer's lines were read as LF: keep the file's CRLF
        rewrite = rewrite.replace("\n", "\r\n")
    if parent.endswith("\n") and not rewrite.endswith("\n"):
        return rewrite + ("\r\n" if "\r\n" in parent else "\n")
    if not parent.endswith("\n") and rewrite.endswith("\n"):
        return rewrite.removesuffix("\r\n") if "\r\n" in parent else rewrite[:-1]
    return rewrite


def _child_file(parent: str, rewrite: str, name: str, forgiven: Forgiven) -> str:
    try:
        parent_blocks = regions(parent, name)
    except EvolveBlockError as exc:
        raise EditRejected(str(exc)) from exc
    if parent_blocks[0].marked:
        return _marked_child(parent, rewrite, name, parent_blocks, forgiven)
    return _whole_child(parent, rewrite, name)


def apply_rewrite(
    files: dict[str, str], answer: str, forgiven: Forgiven | None = None
) -> dict[str, str]:
    """The child artifact from a whole-file answer (full-rewrite or crossover mode).

    Files the answer rewrites are checked and rebuilt (see the module docstring); files
    it does not mention stay unchanged, and a fence naming a file the artifact does not
    have is ignored (a proposal cannot add files). Returns a new dict; the slips
    forgiven on the way are added to `forgiven`.
    """
    noted: Forgiven = {CRLF} if "\r\n" in answer else set()
    names = sorted(files)
    rewritten = extract_files(answer, names)
    if not rewritten:
        listed = " or ".join(names)
        raise EditRejected(
            f"the answer holds no code block for {listed}; put a line '### {names[0]}' "
            "right above a fenced code block holding the whole new file"
        )
    child = dict(files)
    for name in sorted(rewritten):
        child[name] = _child_file(files[name], rewritten[name], name, noted)
    if child == files:
        changed = ", ".join(sorted(rewritten))
        raise EditRejected(
            f"the rewrite is a no-op: it leaves {changed} unchanged; change the code inside "
            "the evolve blocks"
        )
    if forgiven is not None:
        forgiven |= noted
    return child
