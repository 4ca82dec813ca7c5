"""A real click on a lineage node, in headless chromium: the node's code, diff and
prompt appear beside the graph, as text, and the page stays the lineage page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_run import Listener
from support.browser import BrowserUnavailable, artifacts_folder
from support.services import start_service
from support.ui_server import UiServer
from test_browser import _start_browser, new_page, violations
from test_lineage_panel import write_small_run

pytestmark = pytest.mark.slow
LOAD_S = 60.0

FIND_NODE = """(wanted) => {
  // Move a synthetic pointer over the chart until the tooltip names `wanted`: the
  // canvas has no DOM per mark, and Vega finds the mark under the pointer itself.
  const canvas = document.querySelector('.vega-embed canvas');
  const box = canvas.getBoundingClientRect();
  const tip = () => document.getElementById('vg-tooltip-element');
  for (let y = box.top + 2; y < box.bottom; y += 3) {
    for (let x = box.left + 2; x < box.right; x += 3) {
      for (const type of ['pointermove', 'mousemove']) {
        canvas.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true}));
      }
      const shown = tip();
      if (shown && shown.classList.contains('visible') && shown.textContent.includes(wanted)) {
        return {x, y};
      }
    }
  }
  return null;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver, chromium = start_service(_start_browser, BrowserUnavailable, "headless chromium")
    yield chromium
    chromium.close()
    driver.stop()


def test_clicking_a_node_opens_its_panel_beside_the_graph(browser: Any, tmp_path: Path) -> None:
    with Listener() as listener:
        url, run_id, child_id = write_small_run(tmp_path, listener.port)
        page = new_page(browser, viewport={"width": 1400, "height": 1000})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        with UiServer(url, tmp_path / "server.log") as server:
            page.goto(server.url(f"/lineage?run={run_id}"))
            page.get_by_text("Click a node to see its score").wait_for(timeout=LOAD_S * 1000)
            page.locator(".vega-embed canvas").first.wait_for(timeout=LOAD_S * 1000)
            spot = None
            deadline = time.monotonic() + LOAD_S
            while spot is None and time.monotonic() < deadline:  # until Vega has drawn
                spot = page.evaluate(FIND_NODE, child_id)
            assert spot is not None, "no node of the chart named the child on hover"

            started = time.perf_counter()
            page.mouse.click(spot["x"], spot["y"])
            page.get_by_text("Open the full candidate page").wait_for(timeout=LOAD_S * 1000)
            page.get_by_test_id("stCode").first.wait_for(timeout=LOAD_S * 1000)
            shown_s = time.perf_counter() - started

            assert "/lineage" in page.url and f"node={child_id}" in page.url
            code = page.get_by_test_id("stCode").first.inner_text()
            assert "x = 1  # **not bold** ![b](" in code
            page.get_by_role("tab", name="Prompt").click()
            page.get_by_text("Improve `x`. ![b](").first.wait_for(timeout=LOAD_S * 1000)
            page.screenshot(path=str(artifacts_folder() / "lineage-panel.png"), full_page=True)
            assert page.get_by_test_id("stException").count() == 0
            assert violations(page) == []
        page.close()
    print(f"panel shown {shown_s:.2f} s after the click")
    assert shown_s < 5.0  # opening the candidate page took about this long
    assert not [seen for seen in requested if f"127.0.0.1:{listener.port}" in seen]
    assert listener.paths == []
