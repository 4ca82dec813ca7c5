"""The offline `mutate` proposer: small numeric changes inside the evolve blocks only."""

from __future__ import annotations

import ast
import asyncio
import io
import re
import tokenize

import pytest

from evoforge.evolve_blocks import frozen_parts
from evoforge.plugins.proposers import mutate as mutate_module
from evoforge.plugins.proposers.mutate import MutateProposer, find_literals
from evoforge.proposals import CandidateView, Proposal, ProposalRejected, ProposalRequest
from evoforge.protocols import Proposer
from evoforge.task import ArtifactFile, Task

PROGRAM = """\
import math

SIZE = 26  # 3.5 in a comment
LABEL = "0.25 and 7 in a string"


# EVOLVE-BLOCK-START
def layout(x: float) -> float:
    scale = 0.5 * x - 0.25 + (-3.0)
    steps = [-1, 16, 0x1f, 1e-3, 7, 1_000]
    offset = x - 2.5 ** -0.5
    text = f"{x:.3f} 9"
    return max(scale, -steps[0], offset, len(text) * 1.5e2)
# EVOLVE-BLOCK-END


LIMIT = 10.0
"""


def make_task(files: dict[str, str]) -> Task:
    return Task(
        name="t",
        files=[ArtifactFile(name=name, seed=text) for name, text in files.items()],
        evaluate="m:f",
    )


def propose(
    files: dict[str, str],
    seed: int,
    inspirations: list[CandidateView] | None = None,
    **options: float,
) -> Proposal:
    task = make_task(files)
    parent = CandidateView(id="parent", files=files, score=1.0, fitness=1.0, status="ok")
    request = ProposalRequest(task=task, parent=parent, inspirations=inspirations or [], seed=seed)
    return asyncio.run(MutateProposer(task=task, **options).propose(request))


def values(name: str, text: str) -> list[int | float]:
    return [lit.value for lit in find_literals(name, text)]


def shape(source: str) -> str:
    """The program with every number (and its sign, and parentheses around it) as `#`."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    text = " ".join("#" if t.type == tokenize.NUMBER else t.string for t in tokens)
    return re.sub(r"\( - # \)|- #", "#", text)


def test_only_literals_inside_blocks_change() -> None:
    for seed in range(200):
        child = propose({"program.py": PROGRAM}, seed).files["program.py"]
        assert child != PROGRAM
        assert frozen_parts(child) == frozen_parts(PROGRAM)
        assert shape(child) == shape(PROGRAM), "only numbers (and their signs) may change"


def test_numbers_in_strings_and_comments_are_never_literals() -> None:
    found = {lit.text for lit in find_literals("program.py", PROGRAM)}
    assert found == {"0.5", "0.25", "-3.0", "-1", "16", "0x1f", "1e-3", "7", "1_000"} | {
        "2.5",
        "-0.5",
        "0",
        "1.5e2",
    }


def test_child_always_parses_and_keeps_one_to_three_changes() -> None:
    for seed in range(500):
        proposal = propose({"program.py": PROGRAM}, seed)
        child = proposal.files["program.py"]
        ast.parse(child)
        before, after = values("program.py", PROGRAM), values("program.py", child)
        assert len(before) == len(after)
        changed = sum(a != b for a, b in zip(before, after, strict=True))
        assert 1 <= changed <= 3, proposal.note


def test_integers_stay_integers_and_floats_stay_floats() -> None:
    for seed in range(300):
        child = propose({"program.py": PROGRAM}, seed).files["program.py"]
        before, after = values("program.py", PROGRAM), values("program.py", child)
        assert [type(v) for v in before] == [type(v) for v in after]


def test_non_negative_integers_never_go_negative() -> None:
    program = "# EVOLVE-BLOCK-START\nn = 0\nm = 1\nk = 3\n# EVOLVE-BLOCK-END\n"
    for seed in range(300):
        child = propose({"p.py": program}, seed).files["p.py"]
        assert all(v >= 0 for v in values("p.py", child)), child


def test_floats_keep_their_sign() -> None:
    program = "# EVOLVE-BLOCK-START\na = 0.01\nb = -0.02\nc = 1e-9\n# EVOLVE-BLOCK-END\n"
    for seed in range(300):
        child = propose({"p.py": program}, seed).files["p.py"]
        a, b, c = values("p.py", child)
        assert a > 0 and b < 0 and c > 0, child


def test_powers_of_two_stay_powers_of_two() -> None:
    program = "# EVOLVE-BLOCK-START\nBLOCK = 64\nWARPS = 4\nTILE = 256\n# EVOLVE-BLOCK-END\n"
    for seed in range(200):
        child = propose({"kernel.py": program}, seed).files["kernel.py"]
        for before, after in zip(
            values("kernel.py", program), values("kernel.py", child), strict=True
        ):
            assert after in (before, before * 2, before // 2)
            assert after & (after - 1) == 0


def test_same_seed_gives_the_same_child() -> None:
    first = propose({"program.py": PROGRAM}, 1234)
    again = propose({"program.py": PROGRAM}, 1234)
    assert first.files == again.files and first.note == again.note
    children = {propose({"program.py": PROGRAM}, s).files["program.py"] for s in range(20)}
    assert len(children) > 15


def test_note_says_which_literal_changed() -> None:
    program = "x = 1\n# EVOLVE-BLOCK-START\nrate = 0.1\n# EVOLVE-BLOCK-END\n"
    proposal = propose({"p.py": program}, 7)
    (new,) = values("p.py", proposal.files["p.py"])
    assert proposal.kind == "mutation"
    written = re.search(r"rate = (\S+)", proposal.files["p.py"]).group(1)
    assert proposal.note == f"p.py line 3: 0.1 -> {written}"
    assert float(written) == new != 0.1


def test_no_literals_inside_blocks_is_rejected_with_a_reason() -> None:
    program = "N = 26\n# EVOLVE-BLOCK-START\ndef f(x):\n    return x\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(ProposalRejected, match="no numeric literals inside the evolve blocks"):
        propose({"p.py": program}, 0)


def test_broken_markers_are_rejected_naming_the_line() -> None:
    program = "a = 1\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(ProposalRejected, match=r"p\.py line 2"):
        propose({"p.py": program}, 0)


def test_parent_that_does_not_parse_is_rejected() -> None:
    with pytest.raises(ProposalRejected, match="does not parse"):
        propose({"p.py": "x = (1\n"}, 0)


def test_non_python_files_are_mutated_by_pattern() -> None:
    config = "name: run-2\n# EVOLVE-BLOCK-START\nlr: 0.001\nlayers: 12\n# EVOLVE-BLOCK-END\n"
    for seed in range(50):
        child = propose({"config.yaml": config}, seed).files["config.yaml"]
        assert child.startswith("name: run-2\n")
        lr, layers = values("config.yaml", child)
        assert isinstance(lr, float) and isinstance(layers, int)


def test_a_literal_can_be_borrowed_from_an_inspiration() -> None:
    program = "# EVOLVE-BLOCK-START\na = 0.1\nb = 0.2\n# EVOLVE-BLOCK-END\n"
    better = program.replace("0.2", "0.2875")
    inspiration = CandidateView(
        id="insp", files={"p.py": better}, score=2.0, fitness=2.0, status="ok"
    )
    proposal = propose({"p.py": program}, 3, [inspiration], inspiration_rate=1.0)
    assert "0.2 -> 0.2875 (from insp)" in proposal.note
    assert "b = 0.2875\n" in proposal.files["p.py"]


def test_registered_as_the_mutate_proposer_plugin() -> None:
    (cls,) = mutate_module.evoforge_proposers()
    assert cls is MutateProposer and cls.name == "mutate"
    assert isinstance(MutateProposer(task=make_task({"p.py": PROGRAM})), Proposer)


def test_unknown_option_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="max_literal"):
        MutateProposer(task=make_task({"p.py": PROGRAM}), max_literal=2)  # type: ignore[call-arg]
