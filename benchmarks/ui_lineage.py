"""How long the Lineage page takes for a 5,000-candidate run, against the Runs page.

The issue's bar: the lineage of a 5,000-candidate run renders in under 3 s. A
synthetic run (four islands, tournament-chosen parents, inspirations and crossovers,
a mix of ok, invalid, failed, timed-out and crashed evaluations) is written through
the store's public API into a temporary SQLite file, then timed two ways:

- server: the page script under `streamlit.testing.v1.AppTest`, caches cleared
  before each run (the first view of a run), so the store query, the layout and the
  chart spec are all counted;
- browser: the real server (`evoforge ui`) and Debian's chromium through
  Playwright, from navigation until the chart's canvas has pixels on it (the Runs
  page: until its script has finished and its title is drawn). Before each lineage
  load the run's `updated_at` is bumped, so the page's cached layout is stale and
  the load pays for the query and the layout too.

The Runs page is timed the same way as a baseline; the ratios say what the lineage
costs beyond any page of this UI, which cancels out much of the machine's speed. The
script exits 1 if the median browser render of the lineage exceeds 3 s. No GPU.

    python benchmarks/ui_lineage.py [--candidates 5000] [--repeat 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The UI server and the browser are started as the tests start them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.browser import launch  # noqa: E402
from support.ui_server import UiServer  # noqa: E402

from evoforge.jobs import EvaluationOutcome
from evoforge.store import Repository, open_database
from evoforge.task import ArtifactFile, Task

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
LIMIT_S = 3.0
ISLANDS = 4
STATUSES = ["ok", "invalid", "failed", "timeout", "crashed"]
STATUS_WEIGHTS = [80, 9, 7, 2, 2]
REASONS = {
    "invalid": ["constraint violated: circles overlap", "score is NaN", "wrong output shape"],
    "failed": ["SyntaxError: invalid syntax (line 12)", "NameError: name 'r' is not defined"],
    "timeout": ["evaluation exceeded 30 s"],
    "crashed": ["sandbox exited with signal 9 (out of memory)"],
}

# Until the chart's canvas shows pixels: drawn small onto a scratch canvas, since
# reading back the full canvas on every poll would cost more than the chart.
CANVAS_DRAWN = """() => {
  const canvas = document.querySelector('.vega-embed canvas');
  if (!canvas || !canvas.width || !canvas.height) return false;
  const probe = document.createElement('canvas');
  probe.width = 64; probe.height = 64;
  const ctx = probe.getContext('2d');
  ctx.drawImage(canvas, 0, 0, 64, 64);
  const pixels = ctx.getImageData(0, 0, 64, 64).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
}"""
SCRIPT_DONE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !!document.querySelector('[data-testid="stMain"] h1');
}"""


# -- the synthetic run ----------------------------------------------------------------


def build_run(url: str, candidates: int, seed: int = 0) -> str:
    """Write a run of `candidates` candidates the way an evolution would, and finish it."""
    database = open_database(url)
    try:
        return _write_run(Repository(database), candidates, random.Random(seed))
    finally:
        database.close()


def _write_run(repo: Repository, candidates: int, rng: random.Random) -> str:
    task = Task(
        name="synthetic_packing",
        files=[ArtifactFile(name="main.py", seed="x = 0\n")],
        evaluate="synthetic:evaluate",
        direction="maximize",
        source="benchmarks",
    )
    run_id = repo.create_run(task, {"proposer": "synthetic", "islands": ISLANDS}, seed=0)
    seed_view = repo.add_candidate(run_id, {"main.py": "x = 0\n"}, kind="seed", proposer="seed")
    assert seed_view is not None
    repo.record_evaluation(seed_view.id, EvaluationOutcome(status="ok", score=1.0))
    # Per island, the recent valid candidates (id, score, generation) parents come from.
    pools: list[list[tuple[str, float, int]]] = [[(seed_view.id, 1.0, 0)] for _ in range(ISLANDS)]
    for n in range(1, candidates):
        island = n % ISLANDS
        pool = pools[island]
        contenders = rng.sample(pool, min(3, len(pool)))
        parent_id, parent_score, generation = max(contenders, key=lambda c: c[1])
        others = [c[0] for c in rng.sample(pool, min(2, len(pool))) if c[0] != parent_id]
        if rng.random() < 0.02:  # migration: an inspiration from another island
            others.append(rng.choice(pools[(island + 1) % ISLANDS])[0])
        crossover = rng.random() < 0.05 and len(others) > 0
        view = repo.add_candidate(
            run_id,
            {"main.py": f"x = {n}\n"},
            parent_id=parent_id,
            inspirations=[] if crossover else others,
            crossover_parents=others[:1] if crossover else [],
            generation=generation + 1,
            island=island,
            proposer="synthetic",
            kind="crossover" if crossover else "mutation",
        )
        assert view is not None
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        if status == "ok":
            score = parent_score + rng.gauss(0.002, 0.02)
            outcome = EvaluationOutcome(status="ok", score=score)
            pool.append((view.id, score, generation + 1))
            if len(pool) > 40:
                pool.pop(0)
        else:
            outcome = EvaluationOutcome(status=status, reason=rng.choice(REASONS[status]))
        repo.record_evaluation(view.id, outcome)
    repo.set_run_status(run_id, "finished", "max_evaluations")
    return run_id


# -- server side ----------------------------------------------------------------------


def server_seconds(page: str, run_id: str, timeout: float) -> float:
    """One run of a page script, cold: the UI's caches are emptied first."""
    import streamlit as st
    from streamlit import logger
    from streamlit.testing.v1 import AppTest

    logger.set_log_level("error")  # outside a server every cache call warns so
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.switch_page(page)
    at.query_params["run"] = run_id
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page} raised: {at.exception[0].message}")
    if at.error:
        raise RuntimeError(f"{page} showed an error: {at.error[0].value}")
    return elapsed


# -- browser --------------------------------------------------------------------------


def browser_seconds(
    base: str, run_id: str, repeat: int, timeout: float, touch: Callable[[], None]
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per page, `repeat` timed loads in fresh tabs, and the untimed-in-the-median first
    load of each (a fresh server imports the page's modules then). `touch` runs before
    every lineage load: it bumps the run's `updated_at`, so the page's cached layout is
    stale and each load queries the store and lays the run out again, as the first
    view of a run does."""
    from playwright.sync_api import sync_playwright

    pages = {"lineage": CANVAS_DRAWN, "runs": SCRIPT_DONE}
    times: dict[str, list[float]] = {name: [] for name in pages}
    first: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            for attempt in range(repeat + 1):
                for name, ready in pages.items():
                    if name == "lineage":
                        touch()
                    tab = context.new_page()
                    started = time.perf_counter()
                    tab.goto(f"{base}/{name}?run={run_id}")
                    tab.wait_for_function(ready, timeout=timeout * 1000, polling="raf")
                    elapsed = time.perf_counter() - started
                    tab.close()
                    if attempt:
                        times[name].append(elapsed)
                    else:
                        first[name] = elapsed
        finally:
            browser.close()
    return times, first


# -- report ---------------------------------------------------------------------------


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed loads per page and way")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per page load")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="evoforge-ui-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'evoforge.db'}"
        run_id = timed(
            f"wrote a {options.candidates:,}-candidate run",
            lambda: build_run(url, options.candidates),
        )
        os.environ["EVOFORGE_UI_DB"] = url
        server: dict[str, list[float]] = {"lineage": [], "runs": []}
        server_seconds("views/runs.py", run_id, options.timeout)  # imports, untimed
        for _ in range(options.repeat):
            server["lineage"].append(server_seconds("views/lineage.py", run_id, options.timeout))
            server["runs"].append(server_seconds("views/runs.py", run_id, options.timeout))
        writer = open_database(url)
        try:
            with UiServer(url, Path(folder) / "server.log") as server_process:
                browser, first = browser_seconds(
                    server_process.url(""),
                    run_id,
                    options.repeat,
                    options.timeout,
                    lambda: Repository(writer).set_run_status(
                        run_id, "finished", "max_evaluations"
                    ),
                )
        finally:
            writer.close()

    medians = {
        way: {page: statistics.median(values) for page, values in found.items()}
        for way, found in (("server", server), ("browser", browser))
    }
    print(f"\nLineage page, {options.candidates:,} candidates, median of {options.repeat}")
    print(f"{'':10}{'lineage':>10}{'runs':>10}{'ratio':>8}")
    for way, found in medians.items():
        ratio = found["lineage"] / found["runs"]
        print(f"{way:10}{found['lineage']:>9.2f}s{found['runs']:>9.2f}s{ratio:>7.1f}x")
    print(
        f"first load on a fresh server: lineage {first['lineage']:.2f}s, "
        f"runs {first['runs']:.2f}s (module imports included; not in the medians)"
    )
    slow = medians["browser"]["lineage"] > LIMIT_S
    print(f"browser render {'EXCEEDS' if slow else 'within'} the {LIMIT_S:.0f} s bar")
    if options.json:
        report = {
            "candidates": options.candidates,
            "limit_s": LIMIT_S,
            "server_s": server,
            "browser_s": browser,
            "browser_first_load_s": first,
            "median_s": medians,
        }
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
