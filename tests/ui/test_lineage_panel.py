"""Clicking a lineage node shows it beside the graph: its score, code, diff against
its parent and the model's prompt, as text, without leaving the lineage page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ScreenedStore
from hand_runs import seeded_run
from page_text import page_links
from streamlit.testing.v1 import AppTest

from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import ProposerCall
from evoforge.store import Repository, open_read_only
from evoforge.ui import formatting

BAIT = "![b](http://127.0.0.1:{port}/{where}.png) <img src=http://127.0.0.1:{port}/{where}-h.png>"
PORT = 9


def child_code(port: int = PORT) -> str:
    return "x = 1  # **not bold** " + BAIT.format(port=port, where="code") + "\n"


def prompt(port: int = PORT) -> str:
    return "Improve `x`. " + BAIT.format(port=port, where="prompt")


CHILD_CODE = child_code()
PROMPT = prompt()
MARKDOWN = ("markdown", "caption", "title", "subheader", "error", "info", "metric", "tab")


def write_small_run(folder: Path, port: int = PORT) -> tuple[str, str, str]:
    """A seed and one child whose code and prompt carry Markdown and HTML baits
    pointing at `port`: (store URL, run id, child id)."""
    url = f"sqlite:///{folder / 'store.db'}"
    database, repo, run_id, seed = seeded_run(url, "panel")
    child = repo.add_candidate(
        run_id, {"main.py": child_code(port)}, parent_id=seed.id, generation=1, proposer="llm"
    )
    assert child is not None
    repo.record_proposal(
        run_id,
        seq=1,
        parent_id=seed.id,
        candidate_id=child.id,
        proposer="llm",
        kind="diff",
        status="accepted",
        reason="",
        calls=[ProposerCall(model="test/model", prompt=prompt(port), response="ok")],
    )
    repo.record_evaluation(child.id, EvaluationOutcome(status="ok", score=2.5))
    repo.set_run_status(run_id, "finished", "max_evaluations")
    database.close()
    return url, run_id, child.id


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    return write_small_run(tmp_path_factory.mktemp("panel"))


def markdown_text(app: AppTest) -> list[str]:
    """Every string a Markdown-rendering element of the page shows."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if getattr(node, "type", None) in MARKDOWN:
            for name in ("value", "label", "body"):
                value = getattr(node, name, None)
                if isinstance(value, str):
                    found.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    return found


def test_clicking_a_node_shows_its_code_diff_score_and_prompt_beside_the_graph(
    small_run: tuple[str, str, str], open_page: Callable[..., AppTest]
) -> None:
    url, run_id, child_id = small_run
    app = open_page(url, "views/lineage.py", run=run_id)
    assert not app.exception
    assert any("Click a node" in caption.value for caption in app.caption)

    # What a click on the chart hands the page: the node's id in its selection.
    app.session_state[f"lineage-chart-{run_id}"] = {"selection": {"node": [{"id": child_id}]}}
    app.run()

    assert not app.exception
    assert [title.value for title in app.title] == ["Lineage · panel"]  # still here
    assert app.query_params["node"] == child_id  # a reload or a shared link keeps it
    assert [header.value for header in app.subheader] == ["#2 · 2.5"]
    code = [block.value for block in app.code]
    assert CHILD_CODE.strip() in code  # as written, a trailing newline aside
    diff = next(block for block in code if block.startswith("--- parent"))
    assert "-x = 0" in diff and "+" + CHILD_CODE.rstrip("\n") in diff
    assert PROMPT in code
    full = [link.proto.page for link in app.get("page_link") if "full" in link.proto.label]
    assert full == ["candidate"]  # the full page, one click further
    # Code, diff and prompt are text: none reaches an element that renders Markdown.
    assert not [text for text in markdown_text(app) if "127.0.0.1:9" in text]


def test_a_node_named_in_the_url_opens_with_the_panel(
    small_run: tuple[str, str, str], open_page: Callable[..., AppTest]
) -> None:
    url, run_id, child_id = small_run
    app = open_page(url, "views/lineage.py", run=run_id, node=child_id)
    assert not app.exception
    assert CHILD_CODE.strip() in [block.value for block in app.code]
    app.radio[0].set_value("rank").run()  # colouring by rank keeps the panel
    assert not app.exception
    assert CHILD_CODE.strip() in [block.value for block in app.code]


def test_a_node_of_another_run_or_none_shows_no_panel(
    small_run: tuple[str, str, str], open_page: Callable[..., AppTest]
) -> None:
    url, run_id, _ = small_run
    app = open_page(url, "views/lineage.py", run=run_id, node="ffffffffffff")
    assert not app.exception
    assert not app.code
    assert any("Click a node" in caption.value for caption in app.caption)


def test_the_panel_names_a_minibatch_screen_as_one(
    screened_store: ScreenedStore, open_page: Callable[..., AppTest]
) -> None:
    summary = screened_store.summary
    app = open_page(
        screened_store.url,
        "views/lineage.py",
        run=summary["run_id"],
        node=screened_store.screened_id,
    )
    assert not app.exception
    screen = f"screened (minibatch) {formatting.score(screened_store.screened_score)}"
    assert [header.value for header in app.subheader][0].endswith(screen)


def test_the_chosen_node_stays_chosen_through_the_sidebar_and_the_page_links(
    small_run: tuple[str, str, str], open_page: Callable[..., AppTest]
) -> None:
    url, run_id, child_id = small_run
    seed = Repository(open_read_only(url)).seed_candidate(run_id)
    assert seed is not None  # not the best: the child is
    app = open_page(url, "views/lineage.py", run=run_id)
    app.session_state[f"lineage-chart-{run_id}"] = {"selection": {"node": [{"id": seed.id}]}}
    app.run()
    assert not app.exception
    # The row of links carries the clicked node, as a candidate's own page does.
    shown = page_links(app)
    assert "Best candidate" not in shown
    assert f"candidate={seed.id}" in shown["Candidate #1"]
    assert f"b={seed.id}" in shown["Compare"]
    assert f"candidate={seed.id}" in shown["Export"]

    # The sidebar's links carry no query parameters: Candidate opens the same node...
    app.switch_page("views/candidate.py")
    app.query_params.clear()
    app.run()
    assert not app.exception
    assert app.query_params["candidate"] == seed.id
    assert app.title[0].value.startswith("Candidate #1 ")

    # ...and back on the Lineage page its panel is still open, and in the URL.
    app.switch_page("views/lineage.py")
    app.query_params.clear()
    app.run()
    assert not app.exception
    assert app.query_params["run"] == run_id
    assert app.query_params["node"] == seed.id
    assert [header.value for header in app.subheader] == ["#1 · 1"]

    # The best, clicked, is carried by the link that names it.
    app.session_state[f"lineage-chart-{run_id}"] = {"selection": {"node": [{"id": child_id}]}}
    app.run()
    assert f"candidate={child_id}" in page_links(app)["Best candidate"]
