"""Diff mode: SEARCH/REPLACE answers become children, or are rejected with a reason."""

from __future__ import annotations

import pytest

from evoforge.evolve_blocks import frozen_parts
from evoforge.plugins.proposers.llm.edit_errors import EditRejected
from evoforge.plugins.proposers.llm.search_replace import (
    SearchReplaceBlock,
    apply_answer,
    apply_blocks,
    parse_blocks,
)

PROGRAM = """\
import math

# EVOLVE-BLOCK-START
def step(x):
    x = 1.0
    return x
# EVOLVE-BLOCK-END

LIMIT = 10
"""

HELPER = """\
# EVOLVE-BLOCK-START
RATE = 0.5
# EVOLVE-BLOCK-END
"""


def block(search: str, replace: str, file: str | None = None) -> str:
    head = f"<<<<<<< SEARCH {file}" if file else "<<<<<<< SEARCH"
    return f"{head}\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def rejection(files: dict[str, str], answer: str) -> str:
    with pytest.raises(EditRejected) as caught:
        apply_answer(files, answer)
    return caught.value.reason


def test_single_file_diff_changes_only_the_searched_line() -> None:
    child = apply_answer({"program.py": PROGRAM}, block("    x = 1.0\n", "    x = 2.0\n"))
    assert child == {"program.py": PROGRAM.replace("x = 1.0", "x = 2.0")}


def test_blocks_wrapped_in_prose_and_code_fences_are_parsed() -> None:
    answer = (
        "I will raise the step size.\n\n"
        "```python\n"
        "<<<<<<< SEARCH program.py   \n"
        "    x = 1.0\n"
        "=======  \n"
        "    x = 2.0\n"
        ">>>>>>> REPLACE \n"
        "```\n\n"
        "And return twice the value:\n"
        "~~~\n"
        "<<<<<<<<< SEARCH\n"
        "    return x\n"
        "==========\n"
        "    return 2 * x\n"
        ">>>>> REPLACE\n"
        "~~~\n"
    )
    blocks = parse_blocks(answer)
    assert [(b.file, b.index) for b in blocks] == [("program.py", 1), (None, 2)]
    child = apply_blocks({"program.py": PROGRAM}, blocks)["program.py"]
    assert "    x = 2.0\n    return 2 * x\n" in child


def test_multi_file_diff_addresses_each_file_by_name() -> None:
    files = {"program.py": PROGRAM, "helper.py": HELPER}
    answer = block("RATE = 0.5\n", "RATE = 0.7\n", "helper.py") + block(
        "    x = 1.0\n", "    x = 3.0\n", "program.py"
    )
    child = apply_answer(files, answer)
    assert child["helper.py"] == HELPER.replace("0.5", "0.7")
    assert child["program.py"] == PROGRAM.replace("1.0", "3.0")


def test_aider_style_file_name_on_the_line_above_is_used() -> None:
    files = {"program.py": PROGRAM, "helper.py": HELPER}
    answer = "helper.py\n```python\n" + block("RATE = 0.5\n", "RATE = 0.9\n") + "```\n"
    assert apply_answer(files, answer)["helper.py"] == HELPER.replace("0.5", "0.9")


def test_unnamed_block_on_multi_file_artifact_goes_to_the_only_file_it_matches() -> None:
    files = {"program.py": PROGRAM, "helper.py": HELPER}
    child = apply_answer(files, block("RATE = 0.5\n", "RATE = 0.1\n"))
    assert child == {"program.py": PROGRAM, "helper.py": HELPER.replace("0.5", "0.1")}


def test_unnamed_block_matching_several_files_asks_for_the_file_name() -> None:
    files = {"a.py": HELPER, "b.py": HELPER}
    reason = rejection(files, block("RATE = 0.5\n", "RATE = 0.1\n"))
    assert "block 1" in reason
    assert "write the file name after SEARCH" in reason
    assert "a.py, b.py" in reason


def test_unknown_file_name_is_rejected_listing_the_known_files() -> None:
    reason = rejection({"program.py": PROGRAM}, block("x\n", "y\n", "main.py"))
    assert "main.py" in reason and "program.py" in reason


def test_search_text_that_does_not_match_names_block_and_file() -> None:
    answer = block("    x = 1.0\n", "    x = 2.0\n") + block("    y = 5\n", "    y = 6\n")
    reason = rejection({"program.py": PROGRAM}, answer)
    assert reason.startswith("SEARCH block 2 for program.py does not match")
    assert "'    y = 5'" in reason
    assert "copy the SEARCH lines exactly" in reason


def test_trailing_whitespace_differences_are_tolerated() -> None:
    parent = PROGRAM.replace("    x = 1.0\n", "    x = 1.0   \n")
    child = apply_answer({"program.py": parent}, block("    x = 1.0\n", "    x = 2.0\n"))
    assert child["program.py"] == PROGRAM.replace("x = 1.0", "x = 2.0")


def test_forgiven_trailing_whitespace_and_crlf_are_named() -> None:
    parent = PROGRAM.replace("    x = 1.0\n", "    x = 1.0   \n")
    forgiven: set[str] = set()
    apply_answer({"program.py": parent}, block("    x = 1.0\n", "    x = 2.0\n"), forgiven)
    assert forgiven == {"trailing_whitespace"}
    crlf = PROGRAM.replace("\n", "\r\n")
    forgiven = set()
    answer = block("    x = 1.0\n", "    x = 2.0\n").replace("\n", "\r\n")
    child = apply_answer({"program.py": crlf}, answer, forgiven)
    assert child["program.py"] == crlf.replace("x = 1.0", "x = 2.0")
    assert forgiven == {"crlf"}
    forgiven = set()
    apply_answer({"program.py": PROGRAM}, block("    x = 1.0\n", "    x = 2.0\n"), forgiven)
    assert forgiven == set()


def test_a_forgiving_match_must_be_unique_in_the_whole_file() -> None:
    # Exactly, the SEARCH line matches nothing; without trailing spaces it matches the
    # line in the block and a copy outside it: a guess, so it is refused.
    parent = PROGRAM.replace("    x = 1.0\n", "    x = 1.0 \n") + "    x = 1.0\t\n"
    reason = rejection({"program.py": parent}, block("    x = 1.0\n", "    x = 2.0\n"))
    assert "matches no place exactly, and 2 places" in reason


def test_indentation_differences_are_not_tolerated() -> None:
    reason = rejection({"program.py": PROGRAM}, block("x = 1.0\n", "x = 2.0\n"))
    assert "does not match" in reason
    assert "different indentation" in reason


def test_edit_outside_the_evolve_blocks_is_rejected() -> None:
    reason = rejection({"program.py": PROGRAM}, block("LIMIT = 10\n", "LIMIT = 99\n"))
    assert "outside the evolve blocks" in reason
    assert "line 9" in reason


def test_edit_straddling_a_marker_line_is_rejected() -> None:
    search = "    return x\n# EVOLVE-BLOCK-END\n"
    reason = rejection({"program.py": PROGRAM}, block(search, "    return -x\n"))
    assert "outside the evolve blocks" in reason
    assert "lines 6-7" in reason


def test_replacement_may_not_add_marker_lines() -> None:
    replace = "    return x\n# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-START\n"
    reason = rejection({"program.py": PROGRAM}, block("    return x\n", replace))
    assert "marker" in reason


def test_a_search_text_matching_twice_in_the_blocks_is_ambiguous() -> None:
    parent = PROGRAM.replace("    return x\n", "    x = 1.0\n    return x\n")
    reason = rejection({"program.py": parent}, block("    x = 1.0\n", "    x = 2.0\n"))
    assert "ambiguous" in reason
    assert "add surrounding lines" in reason


def test_a_match_inside_wins_over_copies_outside_the_blocks() -> None:
    parent = PROGRAM + "    x = 1.0\n"
    child = apply_answer({"program.py": parent}, block("    x = 1.0\n", "    x = 2.0\n"))
    assert child["program.py"] == parent.replace("x = 1.0", "x = 2.0", 1)


def test_replace_equal_to_search_is_rejected_as_a_no_op() -> None:
    reason = rejection({"program.py": PROGRAM}, block("    x = 1.0\n", "    x = 1.0\n"))
    assert "no-op" in reason


def test_empty_search_is_rejected() -> None:
    reason = rejection({"program.py": PROGRAM}, block("", "    y = 2\n"))
    assert "block 1" in reason and "empty" in reason


def test_blocks_apply_in_order_each_to_the_previous_result() -> None:
    answer = block("    x = 1.0\n", "    x = 2.0\n") + block("    x = 2.0\n", "    x = 3.0\n")
    child = apply_answer({"program.py": PROGRAM}, answer)
    assert child["program.py"] == PROGRAM.replace("1.0", "3.0")


def test_all_or_nothing_when_a_later_block_fails() -> None:
    files = {"program.py": PROGRAM, "helper.py": HELPER}
    original = dict(files)
    blocks = [
        SearchReplaceBlock("helper.py", "RATE = 0.5\n", "RATE = 0.6\n", 1),
        SearchReplaceBlock("program.py", "    missing()\n", "    found()\n", 2),
    ]
    with pytest.raises(EditRejected, match="block 2 for program.py"):
        apply_blocks(files, blocks)
    assert files == original


def test_replacing_a_whole_block_body_keeps_the_end_marker_on_its_own_line() -> None:
    search = "def step(x):\n    x = 1.0\n    return x\n"
    child = apply_answer({"program.py": PROGRAM}, block(search, "def step(x):\n    return 0\n"))
    text = child["program.py"]
    assert "    return 0\n# EVOLVE-BLOCK-END\n" in text
    assert frozen_parts(text) == frozen_parts(PROGRAM)


def test_deleting_lines_with_an_empty_replace() -> None:
    child = apply_answer({"program.py": PROGRAM}, block("    x = 1.0\n", ""))
    assert child["program.py"] == PROGRAM.replace("    x = 1.0\n", "")


def test_file_without_markers_is_wholly_editable() -> None:
    parent = "a = 1\nb = 2"
    child = apply_answer({"params.txt": parent}, block("b = 2\n", "b = 3\n"))
    assert child == {"params.txt": "a = 1\nb = 3"}


def test_answer_without_blocks_is_rejected() -> None:
    reason = rejection({"program.py": PROGRAM}, "I think the program is fine as it is.")
    assert "no SEARCH/REPLACE block" in reason


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("<<<<<<< SEARCH\n    x = 1.0\n>>>>>>> REPLACE\n", "block 1 has no '======='"),
        ("<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.0\n", "block 1 is not closed"),
        (block("    x = 1.0\n", "    x = 2.0\n") + ">>>>>>> REPLACE\n", "block 2"),
    ],
)
def test_malformed_block_is_rejected_naming_it(answer: str, expected: str) -> None:
    assert expected in rejection({"program.py": PROGRAM}, answer)


def test_malformed_markers_in_the_parent_become_a_rejection() -> None:
    parent = "# EVOLVE-BLOCK-START\nx = 1\n"
    reason = rejection({"program.py": parent}, block("x = 1\n", "x = 2\n"))
    assert "program.py line 1" in reason and "never closed" in reason
