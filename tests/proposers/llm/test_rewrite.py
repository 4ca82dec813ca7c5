"""Full-rewrite and crossover answers become children, or are rejected with a reason."""

from __future__ import annotations

import pytest

from evoforge.plugins.proposers.llm.edit_errors import EditRejected
from evoforge.plugins.proposers.llm.rewrite import apply_rewrite, extract_files

PROGRAM = """\
import math

# EVOLVE-BLOCK-START
def step(x):
    return x
# EVOLVE-BLOCK-END

LIMIT = 10
"""

NEW_BODY = "def step(x):\n    return math.sqrt(x)\n"
REWRITE = PROGRAM.replace("def step(x):\n    return x\n", NEW_BODY)

HELPER = "RATE = 0.5\n"


def answer(*files: tuple[str, str], prose: str = "Here is the improved version.") -> str:
    parts = [prose]
    for name, text in files:
        parts.append(f"### {name}\n```python\n{text}```\n")
    return "\n\n".join(parts)


def rejection(files: dict[str, str], text: str) -> str:
    with pytest.raises(EditRejected) as caught:
        apply_rewrite(files, text)
    return caught.value.reason


def test_full_rewrite_with_markers_kept_changes_the_block() -> None:
    child = apply_rewrite({"program.py": PROGRAM}, answer(("program.py", REWRITE)))
    assert child == {"program.py": REWRITE}


def test_frozen_text_stays_byte_for_byte_the_parents() -> None:
    parent = PROGRAM.replace("LIMIT = 10\n", "LIMIT = 10   \n")
    sloppy = REWRITE.rstrip("\n")  # the model dropped trailing spaces and the final newline
    child = apply_rewrite({"program.py": parent}, answer(("program.py", sloppy + "\n")))
    assert child["program.py"] == parent.replace("def step(x):\n    return x\n", NEW_BODY)


def test_rewrite_that_changes_a_frozen_line_is_rejected() -> None:
    changed = REWRITE.replace("LIMIT = 10", "LIMIT = 20")
    reason = rejection({"program.py": PROGRAM}, answer(("program.py", changed)))
    assert "outside the evolve blocks" in reason
    assert "line 8" in reason and "'LIMIT = 10'" in reason


def test_rewrite_with_missing_markers_is_rejected() -> None:
    reason = rejection({"program.py": PROGRAM}, answer(("program.py", "import math\n" + NEW_BODY)))
    assert "has 0 evolve blocks, the current file has 1" in reason
    assert "keep the EVOLVE-BLOCK" in reason


def test_rewrite_with_an_unclosed_marker_is_rejected() -> None:
    broken = REWRITE.replace("# EVOLVE-BLOCK-END\n", "")
    reason = rejection({"program.py": PROGRAM}, answer(("program.py", broken)))
    assert "program.py" in reason and "markers" in reason


def test_file_without_markers_is_replaced_whole() -> None:
    parent = "alpha = 1\nbeta = 2\n"
    child = apply_rewrite({"params.txt": parent}, answer(("params.txt", "gamma = 3\n")))
    assert child == {"params.txt": "gamma = 3\n"}


def test_whole_file_rewrite_keeps_the_parents_lack_of_a_final_newline() -> None:
    parent = "alpha = 1"
    child = apply_rewrite({"params.txt": parent}, answer(("params.txt", "alpha = 2\n")))
    assert child == {"params.txt": "alpha = 2"}


def test_truncated_code_block_is_rejected() -> None:
    cut = "### program.py\n```python\nimport math\n# EVOLVE-BLOCK-START\ndef step(x):\n"
    reason = rejection({"program.py": PROGRAM}, cut)
    assert "not closed" in reason and "max_tokens" in reason


def test_multi_file_rewrite_touching_one_file_leaves_the_other_alone() -> None:
    files = {"program.py": PROGRAM, "helper.py": HELPER}
    child = apply_rewrite(files, answer(("helper.py", "RATE = 0.25\n")))
    assert child == {"program.py": PROGRAM, "helper.py": "RATE = 0.25\n"}


def test_rewrite_identical_to_the_parent_is_rejected_as_a_no_op() -> None:
    reason = rejection({"program.py": PROGRAM}, answer(("program.py", PROGRAM)))
    assert "no-op" in reason


def test_answer_without_code_is_rejected() -> None:
    reason = rejection({"program.py": PROGRAM}, "The program is already optimal.")
    assert "no code block for program.py" in reason


def test_a_file_not_in_the_artifact_is_ignored() -> None:
    files = {"program.py": PROGRAM, "helper.py": HELPER}
    text = answer(("new_module.py", "X = 1\n"), ("program.py", REWRITE))
    assert apply_rewrite(files, text) == {"program.py": REWRITE, "helper.py": HELPER}


def test_files_named_in_fence_info_bold_or_label_are_attributed() -> None:
    names = ["a.py", "b.py", "c.py"]
    text = (
        "```python a.py\nA = 1\n```\n"
        "**b.py**\n\n~~~~\nB = 2\n```\nnot the end\n~~~~\n"
        "File: ./c.py\n```\nC = 3\n```\n"
    )
    assert extract_files(text, names) == {
        "a.py": "A = 1\n",
        "b.py": "B = 2\n```\nnot the end\n",
        "c.py": "C = 3\n",
    }


def test_heading_above_prose_still_names_the_following_fence() -> None:
    text = "### helper.py\n\nThe new rate:\n\n```python\nRATE = 1\n```\n"
    assert extract_files(text, ["program.py", "helper.py"]) == {"helper.py": "RATE = 1\n"}


def test_single_file_artifact_takes_the_first_unnamed_fence() -> None:
    text = "Improved:\n```python\nx = 1\n```\nAlternatively:\n```python\nx = 2\n```\n"
    assert extract_files(text, ["program.py"]) == {"program.py": "x = 1\n"}


def test_unnamed_fences_on_a_multi_file_artifact_are_not_guessed() -> None:
    assert extract_files("```python\nx = 1\n```\n", ["a.py", "b.py"]) == {}


def test_similar_names_are_not_confused() -> None:
    text = "### my_program.py\n```\nx = 1\n```\n"
    assert extract_files(text, ["program.py", "other.py"]) == {}


def test_a_crlf_file_keeps_its_line_ends_and_the_slip_is_named() -> None:
    crlf = PROGRAM.replace("\n", "\r\n")
    forgiven: set[str] = set()
    child = apply_rewrite({"program.py": crlf}, answer(("program.py", REWRITE)), forgiven)
    assert child["program.py"] == REWRITE.replace("\n", "\r\n")
    assert forgiven == {"crlf"}


def test_dropped_trailing_spaces_in_frozen_text_are_forgiven_and_named() -> None:
    parent = PROGRAM.replace("import math\n", "import math  \n")
    forgiven: set[str] = set()
    child = apply_rewrite({"program.py": parent}, answer(("program.py", REWRITE)), forgiven)
    assert child["program.py"] == REWRITE.replace("import math\n", "import math  \n")
    assert forgiven == {"trailing_whitespace"}
