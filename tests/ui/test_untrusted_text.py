"""Candidate text reaches Markdown elements only escaped.

Every page is opened (AppTest) on a run whose candidate put Markdown and HTML image
baits in each field it reports; each element that renders Markdown and shows a bait
must hold it escaped, with any URL inside inline code (never a link or an image).
The browser test opens the same run in Chromium and watches the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_run import bait, hostile_run
from streamlit.testing.v1 import AppTest

from evoforge.ui.formatting import literal

PAGES = [
    "views/runs.py",
    "views/run.py",
    "views/lineage.py",
    "views/candidate.py",
    "views/compare.py",
    "views/export.py",
]
MARKDOWN_ELEMENTS = {
    "markdown", "caption", "title", "header", "subheader", "alert", "error", "warning",
    "info", "success", "metric", "expander", "tab", "page_link", "selectbox", "radio",
}  # fmt: skip
"""AppTest's names for elements whose body or label Streamlit renders as Markdown
(a select box's label does; its options are plain text and are not checked)."""
WIDGETS = {"selectbox", "radio"}
PORT = 9
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)


def unescaped(text: str) -> list[str]:
    """What of `text` Markdown would read as a link or image: a URL or `www.` outside
    inline code, an unescaped `<`, or an unescaped `![`/`](`."""
    rest = _CODE_SPAN.sub("", text)
    found = re.findall(r"https?:|www\.|(?<!\\)<|(?<!\\)!\[|(?<!\\)\]\(", rest)
    return found


def shown_markdown(app: AppTest) -> list[tuple[str, str]]:
    """(element type, text) for every Markdown string on the page."""
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        kind = getattr(node, "type", None)
        if kind in MARKDOWN_ELEMENTS:
            # A widget's value is the option chosen: plain text.
            names = ("label",) if kind in WIDGETS else ("value", "label", "body")
            for name in names:
                value = getattr(node, name, None)
                if isinstance(value, str):
                    found.append((kind, value))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    return found


def test_literal_escapes_markdown_and_fences_every_url() -> None:
    text = "see ![x](http://h/a.png) <img src=//h/b> **now** www.h.org a@h.org `tick` ==="
    escaped = literal(text)
    assert unescaped(escaped) == []
    assert "`![x](http://h/a.png)`" in escaped
    assert "`www.h.org`" in escaped and "`a@h.org`" in escaped
    assert literal("a ``b@c") == "a ``` ``b@c ```"
    # Outside inline code, unescaping gives back the text as written.
    assert re.sub(r"\\(.)", r"\1", literal("ValueError: 1.5 - x [y](z) | #")) == (
        "ValueError: 1.5 - x [y](z) | #"
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return hostile_run(tmp_path_factory.mktemp("hostile"), PORT)


def test_no_page_renders_a_candidates_text_as_markdown(
    hostile: tuple[str, str], open_page: Callable[..., AppTest], tmp_path: Path
) -> None:
    url, run_id = hostile
    checked: list[tuple[str, str, str]] = []
    for page in PAGES:
        app = open_page(url, page, run=run_id)
        assert not app.exception, page
        for kind, text in shown_markdown(app):
            if f"127.0.0.1:{PORT}" in text:
                assert unescaped(text) == [], (page, kind, text)
                checked.append((page, kind, text))
    kinds = {(page, kind) for page, kind, _ in checked}
    # Where the baits do reach Markdown: the stage (a metric's value), the reason that
    # quotes it, and the flagged metric's name.
    assert ("views/candidate.py", "metric") in kinds
    assert ("views/candidate.py", "error") in kinds
    assert ("views/candidate.py", "warning") in kinds
    stage = next(text for page, kind, text in checked if kind == "metric")
    assert stage == literal(bait("stage", PORT))
