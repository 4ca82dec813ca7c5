"""What the proposer reads after an evaluation: where the prompt misleads the model.

Accuracy alone says nothing a prompt writer can act on, so the text names the labels
the model gets wrong, which labels it confuses with which, replies that are not a
label at all (a format problem, not a classification one), and a few misclassified
messages with what was expected. Examples are picked round-robin over the expected
labels so one weak label cannot crowd the others out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

MAX_EXAMPLES = 5
TEXT_CHARS = 140
REPLY_CHARS = 30


@dataclass(frozen=True)
class Graded:
    """One message after the model answered: what it said and what it should have."""

    id: str
    text: str
    label: str
    got: str | None
    """The normalised reply; None when the call failed."""
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.got == self.label


def per_label(graded: Sequence[Graded], labels: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(correct, total) for each label present among the expected labels."""
    table: dict[str, tuple[int, int]] = {}
    for label in labels:
        mine = [g for g in graded if g.label == label]
        if mine:
            table[label] = (sum(g.correct for g in mine), len(mine))
    return table


def misclassified_examples(graded: Sequence[Graded], labels: Sequence[str]) -> list[Graded]:
    """Up to MAX_EXAMPLES wrong answers, taking one expected label at a time."""
    wrong = [g for g in graded if g.got is not None and not g.correct]
    queues = {label: [g for g in wrong if g.label == label] for label in labels}
    picked: list[Graded] = []
    while len(picked) < MAX_EXAMPLES and any(queues.values()):
        for label in labels:
            if queues[label] and len(picked) < MAX_EXAMPLES:
                picked.append(queues[label].pop(0))
    return picked


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build(graded: Sequence[Graded], labels: Sequence[str], model: str) -> str:
    """The proposer's feedback: kept under ~1,500 characters so it fits any prompt."""
    correct = sum(g.correct for g in graded)
    lines = [f"accuracy {correct / len(graded):.3f} ({correct}/{len(graded)}) with {model}"]
    table = per_label(graded, labels)
    lines.append(
        "per label (correct/total): "
        + ", ".join(f"{label} {right}/{total}" for label, (right, total) in table.items())
    )
    answered = [g for g in graded if g.got is not None and not g.correct]
    confusions = Counter((g.label, g.got) for g in answered if g.got in labels)
    if confusions:
        lines.append(
            "most frequent confusions (expected -> got): "
            + ", ".join(f"{a} -> {b} x{n}" for (a, b), n in confusions.most_common(3))
        )
    off_list = [g for g in answered if g.got not in labels]
    if off_list:
        shown = ", ".join(sorted({repr(_clip(g.got or "", REPLY_CHARS)) for g in off_list})[:5])
        lines.append(
            f"replies that are not a label after taking their first word: {len(off_list)} "
            f"({shown}); tell the model to answer with the bare label only"
        )
    failed = [g for g in graded if g.got is None]
    if failed:
        lines.append(
            f"failed model calls (scored 0): {len(failed)}; first: {failed[0].id}: "
            f"{failed[0].error}"
        )
    examples = misclassified_examples(graded, labels)
    if examples:
        lines.append("misclassified messages:")
        lines += [
            f'- {g.id} "{_clip(g.text, TEXT_CHARS)}" expected {g.label}, '
            f"got {_clip(g.got or '', REPLY_CHARS)!r}"
            for g in examples
        ]
    return "\n".join(lines)
