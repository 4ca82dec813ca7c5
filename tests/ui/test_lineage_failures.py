"""The Lineage page's failed candidates read one line per reason with its count, as the
Run page groups them, and each failed candidate can still be opened from there."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hand_runs import seeded_run
from streamlit.testing.v1 import AppTest

from evoforge.jobs import EvaluationOutcome
from evoforge.store import Repository, open_database

TORCH = "evaluate raised ModuleNotFoundError: No module named 'torch'"
SLOW = "timed out after 5 s"
ZERO = "evaluate raised ZeroDivisionError: division by zero"
FAILURES = [
    # The same cause with a different traceback each time: one group.
    *[("failed", f"{TORCH}\nTraceback, line {n}") for n in range(3)],
    ("timeout", SLOW),
    ("failed", ZERO),
    ("timeout", SLOW),
]


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, list[str]]:
    """A seed and six failed children: (store URL, run id, the torch failures' ids)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lineage-failures') / 'store.db'}"
    database, repo, run_id, seed = seeded_run(url, "failing")
    torch: list[str] = []
    for n, (status, reason) in enumerate(FAILURES, start=1):
        child = repo.add_candidate(
            run_id, {"main.py": f"x = {n}\n"}, parent_id=seed.id, generation=1, proposer="llm"
        )
        assert child is not None
        repo.record_evaluation(child.id, EvaluationOutcome(status=status, reason=reason))
        if reason.startswith(TORCH):
            torch.append(child.id)
    repo.set_run_status(run_id, "finished", "max_evaluations")
    database.close()
    return url, run_id, torch


def test_failed_candidates_are_one_line_per_reason_with_its_count(
    failing_run: tuple[str, str, list[str]], open_page: Callable[..., AppTest]
) -> None:
    url, run_id, _ = failing_run
    app = open_page(url, "views/lineage.py", run=run_id)
    assert not app.exception
    assert any(e.label == "Failed candidates (6)" for e in app.expander)
    table = next(frame.value for frame in app.dataframe if "reason" in frame.value.columns)
    assert table.to_dict("records") == [
        {"count": 3, "status": "failed", "reason": TORCH},
        {"count": 2, "status": "timeout", "reason": SLOW},
        {"count": 1, "status": "failed", "reason": ZERO},
    ]
    # The same groups, in the same order, as the Run page's failures.
    summary = Repository(open_database(url)).run_summary(run_id)
    assert table.to_dict("records") == [
        {"count": g["count"], "status": g["status"], "reason": g["reason"]}
        for g in summary["failures"]
    ]


def test_picking_a_reason_lists_its_candidates_and_picking_one_opens_it(
    failing_run: tuple[str, str, list[str]], open_page: Callable[..., AppTest]
) -> None:
    url, run_id, torch = failing_run
    app = open_page(url, "views/lineage.py", run=run_id)
    # What selecting the first row hands the page.
    app.session_state[f"lineage-failure-groups-{run_id}"] = {"selection": {"rows": [0]}}
    app.run()
    assert not app.exception
    listed = next(frame.value for frame in app.dataframe if "seq" in frame.value.columns)
    assert list(listed["id"]) == torch
    assert any("3 candidates failed this way" in caption.value for caption in app.caption)

    app.session_state[f"lineage-failures-{run_id}-0"] = {"selection": {"rows": [1]}}
    app.run()
    assert not app.exception
    assert app.query_params["candidate"] == torch[1]
    assert app.title[0].value.startswith("Candidate #")
    assert "failed" in app.title[0].value
