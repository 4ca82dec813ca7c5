"""Evolve-block markers: which parts of a file a proposer may change."""

from __future__ import annotations

import pytest

from evoforge.evolve_blocks import (
    EvolveBlockError,
    frozen_parts,
    has_markers,
    is_inside,
    regions,
    replace_regions,
)

PROGRAM = """\
import math
# EVOLVE-BLOCK-START
def f(x):
    return 0.5 * x
# EVOLVE-BLOCK-END
LIMIT = 10
    // EVOLVE-BLOCK-START (tuned)
step = 3
<!-- EVOLVE-BLOCK-END -->
"""


def test_regions_are_the_lines_between_markers_in_any_comment_syntax() -> None:
    found = regions(PROGRAM, "program.py")
    assert [r.body(PROGRAM) for r in found] == ["def f(x):\n    return 0.5 * x\n", "step = 3\n"]
    assert [(r.start_line, r.end_line) for r in found] == [(3, 4), (8, 8)]
    assert all(r.marked for r in found)


def test_file_without_markers_is_wholly_evolvable() -> None:
    text = "a = 1\nb = 2\n"
    (only,) = regions(text)
    assert only.body(text) == text
    assert not only.marked
    assert (only.start_line, only.end_line) == (1, 2)
    assert not has_markers(text)


def test_empty_block_is_a_region_with_no_lines() -> None:
    text = "x = 1\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n"
    (empty,) = regions(text)
    assert empty.body(text) == ""
    assert empty.end_line == empty.start_line - 1


def test_marker_words_inside_a_string_are_not_markers() -> None:
    text = 'START = "EVOLVE-BLOCK-START"\nname = "x"  # mentions EVOLVE-BLOCK-END\n'
    assert not has_markers(text)
    assert regions(text)[0].body(text) == text


def test_unmatched_end_marker_names_the_file_and_line() -> None:
    text = "a = 1\nb = 2\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EvolveBlockError, match=r"program\.py line 3: EVOLVE-BLOCK-END without"):
        regions(text, "program.py")


def test_unclosed_start_marker_names_its_line() -> None:
    text = "# EVOLVE-BLOCK-START\na = 1\n# EVOLVE-BLOCK-END\n\n# EVOLVE-BLOCK-START\nb = 2\n"
    with pytest.raises(EvolveBlockError, match=r"kernel\.py line 5: .* never closed") as info:
        regions(text, "kernel.py")
    assert info.value.line == 5 and info.value.name == "kernel.py"


def test_nested_start_marker_is_an_error_naming_both_lines() -> None:
    text = "# EVOLVE-BLOCK-START\na = 1\n  # EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EvolveBlockError, match=r"line 3: .*opened at line 1.*cannot nest"):
        regions(text, "p.py")


def test_is_inside_accepts_only_spans_within_one_block() -> None:
    body_at = PROGRAM.index("return 0.5")
    assert is_inside(PROGRAM, body_at, body_at + 10)
    limit_at = PROGRAM.index("LIMIT")
    assert not is_inside(PROGRAM, limit_at, limit_at + 5)
    # a span that starts in the first block and runs past its END marker
    assert not is_inside(PROGRAM, body_at, limit_at)
    # the marker line itself is frozen
    assert not is_inside(PROGRAM, PROGRAM.index("# EVOLVE"), PROGRAM.index("# EVOLVE") + 3)


def test_replace_regions_keeps_markers_and_frozen_text() -> None:
    child = replace_regions(PROGRAM, ["def f(x):\n    return x * x", "step = 4\n"])
    assert "    return x * x\n# EVOLVE-BLOCK-END\nLIMIT = 10\n" in child
    assert "step = 4\n<!-- EVOLVE-BLOCK-END -->" in child
    assert frozen_parts(child) == frozen_parts(PROGRAM)


def test_replace_regions_wants_one_body_per_block() -> None:
    with pytest.raises(ValueError, match="2 evolve block"):
        replace_regions(PROGRAM, ["only one"], "program.py")


def test_frozen_parts_tell_an_edit_outside_the_blocks() -> None:
    inside = PROGRAM.replace("0.5 * x", "0.7 * x")
    outside = PROGRAM.replace("LIMIT = 10", "LIMIT = 11")
    assert frozen_parts(inside) == frozen_parts(PROGRAM)
    assert frozen_parts(outside) != frozen_parts(PROGRAM)


def test_windows_line_endings_are_handled() -> None:
    text = "a = 1\r\n# EVOLVE-BLOCK-START\r\nb = 2\r\n# EVOLVE-BLOCK-END\r\n"
    (block,) = regions(text)
    assert block.body(text) == "b = 2\r\n"
