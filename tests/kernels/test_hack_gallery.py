"""Every known way to game a kernel harness is caught, each with a reason that says why.

The gallery lives in tests/fixtures/kernel_hacks/: each file names the task it pretends
to solve, the layer that must catch it and a fragment of the expected reason. The
seeds of the same tasks pass, so a rejection here is the hack's, not the harness's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kernel_runner import evaluate_files

GALLERY = Path(__file__).parent.parent / "fixtures" / "kernel_hacks"
HACKS = sorted(GALLERY.glob("*.py"))


def header(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        fields[key.strip()] = value.strip()
    return fields


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict]:
    pairs = [(path, header(path)["task"]) for path in HACKS]
    return {Path(result["file"]).name: result for result in evaluate_files(pairs)}


def test_the_gallery_covers_every_trick_the_issue_lists() -> None:
    names = {path.stem for path in HACKS}
    assert {
        "reference_output",
        "pytorch_op",
        "try_fallback",
        "writes_inputs",
        "stale_memory",
        "input_view",
        "patch_timer",
        "patch_synchronize",
        "side_stream",
        "ignores_part",
    } <= names
    assert {header(path)["layer"] for path in HACKS} == {"static", "runtime", "trials"}


@pytest.mark.parametrize("hack", HACKS, ids=lambda path: path.stem)
def test_each_hack_is_rejected_with_its_reason(hack: Path, verdicts: dict[str, dict]) -> None:
    verdict = verdicts[hack.name]
    expected = header(hack)
    assert verdict["valid"] is False, f"{hack.name} passed the evaluator: {verdict}"
    assert verdict["score"] is None
    assert expected["caught"] in verdict["reason"], verdict["reason"]
    assert len(verdict["reason"].splitlines()) == 1


def test_runtime_hacks_pass_the_source_rules(verdicts: dict[str, dict]) -> None:
    """The runtime layer is not decorative: these files get past the static rules and
    are caught only while running."""
    from evoforge.kernels.evaluator.static_checks import check_source

    for hack in HACKS:
        if header(hack)["layer"] in ("runtime", "trials"):
            assert check_source(hack.read_text()) == [], hack.name
