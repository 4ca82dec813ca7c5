"""What a user sees in Chromium is true (issue 20): a pareto run's page shows the best
`evoforge show --json` reports, an all-failed run names its reason, rejected answers
appear with their reasons, and the run id stays on every page reached through the
sidebar. Screenshots of each page at 1440×1000 go to test-artifacts/ui/.

Kept small: the page tests in test_run_truth.py check the same pages in detail,
without a browser."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli_json
from support.browser import artifacts_folder
from support.split_task import write_split_task
from support.ui_server import UiServer
from test_browser import LOAD_S, assert_healthy, browser, new_page, open_and_wait  # noqa: F401
from truth_runs import FAILED_EVALUATIONS, STALE_SEARCH, TORCH_REASON, TruthRuns, make_truth_runs

from evoforge.api import run_task
from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import ProposerCall
from evoforge.store import Repository, open_database
from evoforge.task import ArtifactFile, Task
from evoforge.ui import formatting

pytestmark = pytest.mark.slow
VIEWPORT = {"width": 1440, "height": 1000}
SIDEBAR_PAGES = {
    "Lineage": "Lineage ·",
    "Candidate": "Diff vs seed",
    "Proposals": "accepted proposals",
    "Compare": "Side by side",
    "Export": "What to export",
    "Run": "Every evaluation failed",
}
"""Each sidebar page, and a text it shows once drawn (for the screenshot)."""


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TruthRuns, str, UiServer]]:
    """The all-failed and mostly-rejected runs, then a pareto run in the same store (the
    newest, so a page that forgets its run would show it), and the UI on that store."""
    root = tmp_path_factory.mktemp("ui-truth-browser")
    made: dict[str, Any] = {}

    def make() -> None:  # in a thread: Playwright's event loop runs in this one
        made["runs"] = make_truth_runs(root)
        made["pareto"] = run_task(
            write_split_task(root, spread_metric=True),
            db=made["runs"].url,
            max_evaluations=16,
            seed=1,
            strategy="pareto",
            evaluation_slots=1,
            proposal_slots=1,
        )

    maker = threading.Thread(target=make)
    maker.start()
    maker.join(timeout=300)
    runs = made["runs"]
    with UiServer(runs.url, root / "server.log") as server:
        yield runs, made["pareto"].run_id, server


BIG_BUDGET = 100_000
BIG_CAP = 100_000.0


def write_big_budget_run(folder: Path) -> tuple[str, str]:
    """A run a few evaluations into a budget of 100,000 and a spend cap of $100,000,
    with the widest figures a Run page's metric shows (a reference score of
    -1.23457e-05, $1,234.57 spent), wider than any count up to the budget ("100,000").
    Returns (store URL, run id)."""
    url = f"sqlite:///{folder / 'store.db'}"
    database = open_database(url)
    repo = Repository(database)
    task = Task(
        name="wide",
        files=[ArtifactFile(name="main.py", seed="x = 0\n")],
        evaluate="wide:evaluate",
        direction="maximize",
        source="tests",
        reference_score=-1.23457e-05,
    )
    budget = {"max_evaluations": BIG_BUDGET, "max_cost_usd": BIG_CAP}
    run_id = repo.create_run(task, {"strategy": "islands", "budget": budget}, seed=0)
    parent = None
    for n in range(12):
        made = repo.add_candidate(
            run_id,
            {"main.py": f"x = {n}\n"},
            parent_id=parent,
            generation=n,
            kind="mutation" if parent else "seed",
            proposer="llm" if parent else "seed",
        )
        assert made is not None
        if parent:
            repo.record_proposal(
                run_id, seq=n, parent_id=parent, candidate_id=made.id, proposer="llm",
                kind="diff", status="accepted", reason="",
                calls=[ProposerCall(model="test/model", cost_usd=1234.5678 / 11)],
            )  # fmt: skip
        repo.record_evaluation(made.id, EvaluationOutcome(status="ok", score=-0.123457 + n))
        parent = made.id
    repo.set_run_status(run_id, "finished", "max_evaluations")
    database.close()
    return url, run_id


def test_the_run_pages_figures_show_whole_for_a_budget_of_100000(
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, run_id = write_big_budget_run(tmp_path)
    with UiServer(url, tmp_path / "server.log") as ui:
        page = new_page(browser, viewport=VIEWPORT)
        open_and_wait(page, ui.url(f"/run?run={run_id}"), f"evaluations of {BIG_BUDGET:,}")
        page.get_by_test_id("stMetricValue").first.wait_for(timeout=LOAD_S * 1000)
        evaluations = page.get_by_test_id("stMetric").filter(
            has=page.get_by_text(f"evaluations of {BIG_BUDGET:,}", exact=True)
        )
        assert evaluations.get_by_test_id("stMetricValue").inner_text() == "12"
        # Streamlit cuts a figure too wide for its column with an ellipsis (CSS), so the
        # text is all there while the reader sees "868 / 2,…": compare drawn widths.
        cut = page.evaluate(CUT_METRICS)
        assert cut == [], cut
        assert_healthy(page)
        shot(page, "run-big-budget")
        page.close()


CUT_METRICS = """
Array.from(document.querySelectorAll(
    '[data-testid="stMetricLabel"], [data-testid="stMetricValue"]'
)).flatMap((metric) => [metric, ...metric.querySelectorAll("*")])
  .filter((element) => element.scrollWidth > element.clientWidth + 1)
  .map((element) => element.innerText)
"""
"""The text of every metric label or value drawn narrower than it is."""


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(artifacts_folder() / f"truth-{name}.png"), full_page=True)


def test_each_page_shows_what_is_true_and_keeps_its_run_through_the_sidebar(
    browser: Any,  # noqa: F811
    truth: tuple[TruthRuns, str, UiServer],
) -> None:
    runs, pareto_id, ui = truth
    page = new_page(browser, viewport=VIEWPORT)

    # The pareto run: the best the page states is the best `show --json` reports.
    best = formatting.score(cli_json("show", pareto_id, "--db", runs.url)["best_score"])
    open_and_wait(page, ui.url(f"/run?run={pareto_id}"), "Best score over time", f"best {best}")
    page.locator(".vega-embed").first.wait_for(timeout=LOAD_S * 1000)
    best_metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_text("best score", exact=True)
    )
    assert best_metric.get_by_test_id("stMetricValue").inner_text() == best
    assert_healthy(page)
    shot(page, "run-pareto")

    # The all-failed run names what failed, with its count.
    failed_id = runs.failed["run_id"]
    total = FAILED_EVALUATIONS
    open_and_wait(
        page, ui.url(f"/run?run={failed_id}"), f"{total} of {total} failed: {TORCH_REASON}"
    )
    assert_healthy(page)
    shot(page, "run-all-failed")

    # The rejected answers, with their reasons.
    rejected_id = runs.rejected["run_id"]
    counts = runs.repo().proposal_counts(rejected_id)
    open_and_wait(
        page,
        ui.url(f"/run?run={rejected_id}"),
        f"{counts['rejected']} of {counts['total']} model answers became no candidate",
    )
    rejected = page.get_by_test_id("stMetric").filter(
        has=page.get_by_text("rejected proposals", exact=True)
    )
    assert rejected.get_by_test_id("stMetricValue").inner_text() == str(counts["rejected"])
    spend = page.get_by_test_id("stMetric").filter(
        has=page.get_by_text("spend of $1.00", exact=True)  # not math
    )
    money = formatting.money(runs.rejected["spend_usd"])
    assert spend.get_by_test_id("stMetricValue").inner_text() == money
    shot(page, "run-rejected")
    open_and_wait(
        page, ui.url(f"/proposals?run={rejected_id}"), f"Proposals · toy · run {rejected_id}"
    )
    first = page.get_by_test_id("stExpander").first
    first.locator("summary").click()
    reason = first.get_by_test_id("stCode").first
    reason.wait_for(timeout=LOAD_S * 1000)
    assert "does not match the file" in reason.inner_text()
    assert f"SEARCH program.py\n{STALE_SEARCH}" in first.inner_text()  # the answer, as given
    assert_healthy(page)
    shot(page, "proposals")

    # Through the sidebar (links without query parameters), every page keeps the run.
    open_and_wait(page, ui.url(f"/run?run={failed_id}"), f"run {failed_id}")
    for name, drawn in SIDEBAR_PAGES.items():
        page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
        page.wait_for_url(re.compile(rf"run={failed_id}"), timeout=LOAD_S * 1000)
        page.get_by_text(re.compile(failed_id)).first.wait_for(timeout=LOAD_S * 1000)
        page.get_by_text(drawn).first.wait_for(timeout=LOAD_S * 1000)
        assert pareto_id not in page.inner_text("body"), name
        assert_healthy(page)
        shot(page, f"sidebar-{name.lower()}")
    page.close()
