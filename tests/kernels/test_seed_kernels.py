"""Every seed kernel passes the evaluator's correctness trials on its CPU shapes.

Real evaluator, Triton's interpreter on the CPU: the state a user without a GPU
starts an evolution from, so a seed that fails here makes a whole task unusable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kernel_runner import evaluate_files

import evoforge.kernels
from evoforge.kernels.catalog import ENTRIES

SEEDS = Path(evoforge.kernels.__file__).parent / "seeds"


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    pairs = [(SEEDS / f"{entry.name}.py", entry.name) for entry in ENTRIES]
    return {Path(r["file"]).stem: r for r in evaluate_files(pairs)}


def test_the_suite_has_at_least_ten_tasks() -> None:
    assert len(ENTRIES) >= 10


@pytest.mark.parametrize("name", [entry.name for entry in ENTRIES])
def test_seed_is_correct_on_the_cpu_without_timing(name: str, results: dict[str, dict]) -> None:
    result = results[name]
    assert result["valid"], result["reason"]
    assert result["score"] == 1.0
    assert result["metrics"]["trials"] >= 5
    assert result["metrics"]["timed"] == 0.0
    assert "no timing was measured" in result["feedback"]
