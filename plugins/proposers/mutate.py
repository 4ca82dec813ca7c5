"""The offline proposer: perturb numeric literals inside the evolve blocks.

With no model configured the platform still does real work: many seed programs hold
their quality in a few constants (step sizes, ring radii, thresholds), and nudging
those constants while the evaluator judges each child is an honest hill-climber.

Each proposal picks one to three numeric literals inside the evolve blocks of the
parent's files and changes them:

* an integer steps by ±1 up to ±20 % of its value and never drops below zero if it
  was not negative (counts and sizes stay meaningful);
* an integer that is a power of two (2, 4, 8, ...) doubles or halves, so block
  sizes and widths stay powers of two;
* a float gets a multiplicative or an additive Gaussian nudge whose scale is itself
  drawn at random (mostly small, sometimes a large jump); it keeps its sign (a zero
  may go either way) and is written with as many digits as the change needs.

Now and then (`inspiration_rate`) one of the changes instead copies the value at the
same position from an inspiration whose file lines up: a one-value crossover that lets
good constants found on another island spread.

Python files are read with `tokenize` (so numbers in strings and comments are never
touched) and every child is checked with `ast.parse`; other files use a regular
expression. Everything random comes from `random.Random(request.seed)`, so a run
with a fixed seed and one proposal in flight is reproducible.
"""

from __future__ import annotations

import ast
import io
import keyword
import math
import random
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from evoforge.evolve_blocks import EvolveBlockError, line_offsets, regions
from evoforge.hookspecs import hookimpl
from evoforge.proposals import CandidateView, Proposal, ProposalRejected, ProposalRequest
from evoforge.task import Task

# A number not glued to an identifier or another number; the optional minus is
# taken only where it cannot be a binary operator (not after a word character).
_NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_OPERAND_END = {")", "]", "}"}
_SKIPPED = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}


@dataclass(frozen=True)
class NumericLiteral:
    """One number in a file: where it is, how it is written and what it is worth.

    `signed` says the span starts with a unary minus (``-0.5``), so a replacement may
    carry its own sign; an unsigned literal that must turn negative is parenthesised.
    """

    file: str
    start: int
    end: int
    text: str
    value: int | float
    line: int
    signed: bool
    python: bool


def _is_python(name: str) -> bool:
    return name.endswith((".py", ".pyi"))


def _python_literals(name: str, text: str) -> list[NumericLiteral]:
    offsets = line_offsets(text)
    tokens = [
        t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in _SKIPPED
    ]
    found: list[NumericLiteral] = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.NUMBER or token.string[-1] in "jJ":
            continue
        value = ast.literal_eval(token.string)
        start = offsets[token.start[0] - 1] + token.start[1]
        end = offsets[token.end[0] - 1] + token.end[1]
        signed = False
        minus = tokens[index - 1] if index >= 1 else None
        if minus is not None and minus.string == "-" and minus.start[0] == token.start[0]:
            before = tokens[index - 2] if index >= 2 else None
            if before is None or not _ends_operand(before):
                signed = True
                value = -value
                start = offsets[minus.start[0] - 1] + minus.start[1]
        found.append(
            NumericLiteral(name, start, end, text[start:end], value, token.start[0], signed, True)
        )
    return found


def _ends_operand(token: tokenize.TokenInfo) -> bool:
    """Whether a `-` after this token is binary (``a - 1``) rather than unary (``(-1``)."""
    if token.type in (tokenize.NUMBER, tokenize.STRING):
        return True
    if token.type == tokenize.NAME:
        return not keyword.iskeyword(token.string) or token.string in ("True", "False", "None")
    return token.type == tokenize.OP and token.string in _OPERAND_END


def _regex_literals(name: str, text: str) -> list[NumericLiteral]:
    found: list[NumericLiteral] = []
    for match in _NUMBER_RE.finditer(text):
        raw = match.group()
        is_float = any(c in raw for c in ".eE")
        value: int | float = float(raw) if is_float else int(raw)
        line = text.count("\n", 0, match.start()) + 1
        signed = raw.startswith("-")
        found.append(
            NumericLiteral(name, match.start(), match.end(), raw, value, line, signed, False)
        )
    return found


def find_literals(name: str, text: str) -> list[NumericLiteral]:
    """The numeric literals of one file that lie inside its evolve blocks."""
    blocks = regions(text, name)
    found = _python_literals(name, text) if _is_python(name) else _regex_literals(name, text)
    return [lit for lit in found if any(r.contains(lit.start, lit.end) for r in blocks)]


@lru_cache(maxsize=64)
def _file_literals(name: str, text: str) -> tuple[NumericLiteral, ...]:
    """A parent's literals, cached by its text: the search picks the same elites as
    parents again and again, and tokenizing one cost a tenth of the event loop's time
    on an instant task. A few dozen texts, so a large program is not kept many times."""
    if _is_python(name):
        try:
            ast.parse(text, filename=name)
        except SyntaxError as exc:
            raise ProposalRejected(
                f"mutate: parent's {name} does not parse (line {exc.lineno}: {exc.msg}); "
                "literal mutation needs valid Python to start from"
            ) from exc
    try:
        return tuple(find_literals(name, text))
    except EvolveBlockError as exc:
        raise ProposalRejected(f"mutate: {exc}") from exc


def _is_power_of_two(value: int) -> bool:
    magnitude = abs(value)
    return magnitude >= 2 and magnitude & (magnitude - 1) == 0


def mutate_int(value: int, rng: random.Random) -> int:
    """A nearby integer: ×2/÷2 for powers of two, else a step of ±1..±20 %."""
    if _is_power_of_two(value):
        return value * 2 if rng.random() < 0.5 else value // 2
    step = rng.randint(1, max(1, round(0.2 * abs(value)))) * rng.choice((-1, 1))
    new = value + step
    if value >= 0 and new < 0:
        new = value + abs(step)
    return new


def mutate_float(value: float, rng: random.Random) -> float:
    """A Gaussian nudge with a random scale: usually 0.3-20 %, one time in ten up to 100 %."""
    scale = rng.uniform(0.3, 1.0) if rng.random() < 0.1 else 10 ** rng.uniform(-2.5, -0.7)
    if value != 0.0 and rng.random() < 0.6:
        new = value * math.exp(rng.gauss(0.0, scale))
    else:
        new = value + rng.gauss(0.0, scale) * max(abs(value), 0.1)
    if value != 0.0 and (new > 0) != (value > 0):
        new = -new  # reflect: a positive constant (a size, a rate) stays positive
    return new


def format_float(new: float, old: float) -> str:
    """Enough significant digits to show the change, never more than repr needs."""
    change = abs(new - old)
    digits = 3
    if change > 0 and new != 0:
        digits = max(3, math.ceil(math.log10(abs(new) / change)) + 3)
    text = f"{new:.{min(digits, 17)}g}"
    if float(text) == old:
        text = repr(new)
    if not any(c in text for c in ".eE"):
        text += ".0"  # keep it a float literal in every language this is likely to be
    return text


def format_int(new: int, old_text: str) -> str:
    """Decimal, or the hex/octal/binary notation the original was written in."""
    body = old_text.lstrip("-").lower()
    sign = "-" if new < 0 else ""
    for prefix, spec in (("0x", "x"), ("0o", "o"), ("0b", "b")):
        if body.startswith(prefix):
            return f"{sign}{prefix}{format(abs(new), spec)}"
    return str(new)


def _render(literal: NumericLiteral, new: int | float) -> str:
    if isinstance(literal.value, int) and isinstance(new, int):
        text = format_int(new, literal.text)
    else:
        text = format_float(float(new), float(literal.value))
    if literal.python and not literal.signed and text.startswith("-"):
        text = f"({text})"  # `x - (-1.5)`, `f(a, (-1.5))`: a sign that cannot bind elsewhere
    return text


class MutateProposer:
    """Propose a child that differs from its parent in one to three numeric literals.

    Options (from the run config): `max_literals` caps the literals changed per child,
    `inspiration_rate` is the chance of borrowing one from an inspiration, `attempts` is
    how many children to try before rejecting (a child that rounds back to the parent or
    no longer parses is retried).
    """

    name: ClassVar[str] = "mutate"

    def __init__(
        self,
        task: Task,
        max_literals: int = 3,
        inspiration_rate: float = 0.15,
        attempts: int = 12,
    ) -> None:
        if max_literals < 1:
            raise ValueError(f"mutate: max_literals must be at least 1, got {max_literals}")
        self.task = task
        self.max_literals = max_literals
        self.inspiration_rate = inspiration_rate
        self.attempts = attempts

    async def propose(self, request: ProposalRequest) -> Proposal:
        return self.mutate(request)

    def mutate(self, request: ProposalRequest) -> Proposal:
        """The synchronous body of `propose` (no I/O, so nothing to await)."""
        rng = random.Random(request.seed)
        files = request.parent.files
        literals = self._literals(files)
        if not literals:
            raise ProposalRejected(
                "mutate: no numeric literals inside the evolve blocks of "
                + ", ".join(sorted(files))
            )
        last_problem = "every attempt reproduced the parent"
        for _attempt in range(self.attempts):
            changes = self._choose_changes(literals, request.inspirations, rng)
            child = self._apply(files, changes)
            problem = self._problem(files, child)
            if problem is None:
                note = "; ".join(
                    f"{lit.file} line {lit.line}: {lit.text} -> {new}{tag}"
                    for lit, new, tag in sorted(changes, key=lambda c: (c[0].file, c[0].start))
                )
                return Proposal(files=child, kind="mutation", note=note)
            last_problem = problem
        raise ProposalRejected(
            f"mutate: no usable child after {self.attempts} attempts ({last_problem})"
        )

    def _literals(self, files: dict[str, str]) -> list[NumericLiteral]:
        literals: list[NumericLiteral] = []
        for name, text in sorted(files.items()):
            literals.extend(_file_literals(name, text))
        return literals

    def _choose_changes(
        self,
        literals: list[NumericLiteral],
        inspirations: list[CandidateView],
        rng: random.Random,
    ) -> list[tuple[NumericLiteral, str, str]]:
        count = min(len(literals), rng.choice((1, 1, 1, 2, 2, 3)), self.max_literals)
        chosen = rng.sample(literals, count)
        changes: list[tuple[NumericLiteral, str, str]] = []
        borrowed = None
        if inspirations and rng.random() < self.inspiration_rate:
            borrowed = self._borrow(literals, rng.choice(inspirations), rng)
        if borrowed is not None:
            changes.append(borrowed)
            chosen = [lit for lit in chosen if lit is not borrowed[0]][: count - 1]
        for literal in chosen:
            if isinstance(literal.value, int):
                new: int | float = mutate_int(literal.value, rng)
            else:
                new = mutate_float(literal.value, rng)
            if isinstance(new, float) and not math.isfinite(new):
                continue
            changes.append((literal, _render(literal, new), ""))
        return changes

    def _borrow(
        self, literals: list[NumericLiteral], inspiration: CandidateView, rng: random.Random
    ) -> tuple[NumericLiteral, str, str] | None:
        """Copy one differing literal from an inspiration whose file lines up with ours.

        Files line up when they hold as many literals inside the blocks; then the k-th
        literal plays the same role in both, and borrowing it is a one-value crossover.
        """
        for name in sorted({lit.file for lit in literals}):
            theirs_text = inspiration.files.get(name)
            if theirs_text is None:
                continue
            ours = [lit for lit in literals if lit.file == name]
            try:
                theirs = find_literals(name, theirs_text)
            except (EvolveBlockError, SyntaxError, tokenize.TokenError):
                continue
            if len(theirs) != len(ours):
                continue
            differing = [
                (a, b)
                for a, b in zip(ours, theirs, strict=True)
                if a.value != b.value and type(a.value) is type(b.value)
            ]
            if differing:
                mine, other = rng.choice(differing)
                text = other.text  # verbatim: re-rendering could round the borrowed value
                if mine.python and other.signed and not mine.signed:
                    text = f"({text})"
                return mine, text, f" (from {inspiration.id})"
        return None

    @staticmethod
    def _apply(
        files: dict[str, str], changes: list[tuple[NumericLiteral, str, str]]
    ) -> dict[str, str]:
        child = dict(files)
        for name in {lit.file for lit, _, _ in changes}:
            text = child[name]
            mine = sorted((c for c in changes if c[0].file == name), key=lambda c: -c[0].start)
            for literal, new, _ in mine:
                text = text[: literal.start] + new + text[literal.end :]
            child[name] = text
        return child

    @staticmethod
    def _problem(parent: dict[str, str], child: dict[str, str]) -> str | None:
        """Why this child is unusable, or None: a no-op, or Python that no longer parses."""
        if child == parent:
            return "the change rounded back to the parent"
        for name, text in child.items():
            if text != parent[name] and _is_python(name):
                try:
                    ast.parse(text, filename=name)
                except SyntaxError as exc:
                    return f"{name} line {exc.lineno}: {exc.msg}"
        return None


@hookimpl
def evoforge_proposers() -> list[type[MutateProposer]]:
    """Register the offline proposer under the name ``mutate``."""
    return [MutateProposer]
