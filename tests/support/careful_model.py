"""A model that answers like a careful one: it copies what the prompt shows, exactly.

Real models asked for an edit copy the file from the prompt and change a little.
This responder does just that and nothing cleverer: it reads the files out of the
prompt's code fences byte for byte (tabs, trailing spaces, blank-line runs, CR
characters and all), changes one literal inside an evolve block, and answers in the
mode the prompt asks for: SEARCH/REPLACE lines copied from the shown file (a window
that spans blank lines where the block has them), or the whole file in the same
fence, or parent A's file for a crossover.

If the prompt builder ever shows a file other than as it is, the answer no longer
fits the file and the proposal is rejected, which is what the tests look for.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from evoforge.evolve_blocks import regions
from support.model_server import Reply, SeenRequest

_HEADING = re.compile(r"^### (?P<name>\S+)\n(?P<fence>`{3,})[^\n`]*\n", re.M)
_FLOAT = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
_INT = re.compile(r"(?<![\w.])\d+(?![\w.])")
_WORD = re.compile(r"[A-Za-z]{4,}")


def shown_files(prompt: str) -> dict[str, tuple[str, str]]:
    """name -> (text, fence) of each file the prompt shows, its first showing wins."""
    found: dict[str, tuple[str, str]] = {}
    for heading in _HEADING.finditer(prompt):
        fence = heading.group("fence")
        close = prompt.find(f"\n{fence}\n", heading.end() - 1)
        if close < 0:
            close = prompt.find(f"\n{fence}", heading.end() - 1)
        body = prompt[heading.end() : close + 1]
        found.setdefault(heading.group("name"), (body, fence))
    return found


@dataclass(frozen=True)
class Edit:
    """One literal changed: where, from what, to what."""

    name: str
    start: int
    old: str
    new: str

    def apply(self, text: str) -> str:
        assert text[self.start : self.start + len(self.old)] == self.old
        return text[: self.start] + self.new + text[self.start + len(self.old) :]


def _new_literal(old: str, rng: random.Random) -> str:
    if _FLOAT.fullmatch(old):
        return repr(round(float(old) * rng.uniform(0.6, 1.4) + rng.uniform(0.01, 0.2), 4))
    if _INT.fullmatch(old):
        return str(int(old) + rng.randint(1, 9))
    return old.upper() if old != old.upper() else old.lower()


def choose_edit(name: str, text: str, rng: random.Random) -> Edit:
    """One literal inside an evolve block, with a new value: a float if the block has
    one, else an int, else a word (a prompt has no numbers)."""
    blocks = regions(text, name)
    for pattern in (_FLOAT, _INT, _WORD):
        hits = [
            m
            for block in blocks
            for m in pattern.finditer(text, block.start, block.end)
            if not _in_comment(text, m.start())
        ]
        if hits:
            hit = rng.choice(hits)
            return Edit(name, hit.start(), hit.group(), _new_literal(hit.group(), rng))
    raise AssertionError(f"{name} has no literal inside its evolve blocks")


def _in_comment(text: str, offset: int) -> bool:
    line_start = text.rfind("\n", 0, offset) + 1
    return "#" in text[line_start:offset]


def _lines(text: str) -> list[str]:
    """Lines with their ends, split on LF only (as the parsers do; not str.splitlines)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def search_window(text: str, name: str, edit: Edit) -> tuple[int, int]:
    """The lines a careful model would put in SEARCH: the edited line, the blank-line
    run above it (if any) with the line above that, and the line below; grown until
    the lines occur once in the file. All inside the evolve block holding the edit."""
    lines = _lines(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    line = max(i for i in range(len(lines)) if starts[i] <= edit.start)
    block = next(b for b in regions(text, name) if b.start <= edit.start < b.end)
    first_line = starts.index(block.start)
    last_line = max(i for i in range(len(lines)) if starts[i + 1] <= block.end)
    top = line
    for _ in range(3):
        if top == first_line:
            break
        top -= 1
        if not lines[top].strip():  # a blank run: take all of it and the line above
            while top > first_line and not lines[top].strip():
                top -= 1
            break
    bottom = min(line + 1, last_line)
    while text.count("".join(lines[top : bottom + 1])) > 1:
        if (top, bottom) == (first_line, last_line):
            break
        top, bottom = max(first_line, top - 1), min(last_line, bottom + 1)
    return top, bottom


def diff_answer(text: str, edit: Edit) -> str:
    lines = _lines(text)
    top, bottom = search_window(text, edit.name, edit)
    search = "".join(lines[top : bottom + 1])
    replace = "".join(_lines(edit.apply(text))[top : bottom + 1])
    if not search.endswith("\n"):
        search, replace = search + "\n", replace + "\n"
    return (
        f"Changing {edit.old} to {edit.new} should help.\n\n"
        f"<<<<<<< SEARCH {edit.name}\n{search}=======\n{replace}>>>>>>> REPLACE\n"
    )


def rewrite_answer(text: str, fence: str, edit: Edit) -> str:
    changed = edit.apply(text)
    if not changed.endswith("\n"):
        changed += "\n"
    return (
        "Here is the whole file with one constant changed.\n\n"
        f"### {edit.name}\n{fence}\n{changed}{fence}\n"
    )


def mode_of(prompt: str) -> str:
    if "<<<<<<< SEARCH" in prompt:
        return "diff"
    return "crossover" if "# Parent A" in prompt else "full"


def answer_prompt(prompt: str, rng: random.Random) -> tuple[str, Edit, str]:
    """(answer, the edit made, the shown text it was made on) for one user prompt."""
    files = shown_files(prompt)
    name = sorted(files)[0]
    text, fence = files[name]
    edit = choose_edit(name, text, rng)
    if mode_of(prompt) == "diff":
        return diff_answer(text, edit), edit, text
    return rewrite_answer(text, fence, edit), edit, text


class CarefulModel:
    """A responder for `ScriptedModelServer`: each answer a careful edit of the prompt."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.answers: list[tuple[str, Edit]] = []

    def __call__(self, request: SeenRequest) -> Reply:
        prompt = request.body["messages"][-1]["content"]
        answer, edit, _ = answer_prompt(prompt, self.rng)
        self.answers.append((mode_of(prompt), edit))
        return Reply(answer)
