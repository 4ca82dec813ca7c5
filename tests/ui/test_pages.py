"""Every page, driven by Streamlit's AppTest against a store seeded by real runs.

Each test opens a page as a browser would (`/run?run=…`) and checks what a user reads
there: the numbers match the store, failures show their reason, the model's prompt
and spend are there, and nothing raises.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from conftest import SECRET, SeededStore
from page_text import page_text

from evoforge.export import ExportError, export_run, export_zip
from evoforge.store import open_read_only
from evoforge.store.runs import failure_reason
from evoforge.ui import formatting

PAGES = [
    "views/runs.py",
    "views/run.py",
    "views/lineage.py",
    "views/candidate.py",
    "views/compare.py",
    "views/export.py",
]


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_runs_page_lists_every_run_with_its_scores(seeded_store: SeededStore, open_page) -> None:
    app = open_page(seeded_store.url)
    assert not app.exception
    assert [title.value for title in app.title] == ["Runs"]
    table = app.dataframe[0].value
    assert len(table) == 2
    row = table[table["task"] == "circle_packing"].iloc[0]
    assert row["run"] == f"run?run={seeded_store.packing['run_id']}"
    assert row["best score"] == seeded_store.packing["best_score"]
    assert row["seed score"] == seeded_store.packing["seed_score"]
    assert row["budget used"] == "40 / 40"
    assert row["random seed"] == 1
    llm = table[table["task"] == "toy"].iloc[0]
    assert llm["spend"] == seeded_store.llm["spend_usd"] > 0


def test_runs_page_filters_by_task(seeded_store: SeededStore, open_page) -> None:
    app = open_page(seeded_store.url)
    app.multiselect[0].select("toy").run()
    table = app.dataframe[0].value
    assert list(table["task"]) == ["toy"]
    assert "1 of 2 runs" in app.caption[0].value


def test_run_page_shows_progress_against_seed_and_reference(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.packing
    app = open_page(seeded_store.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    shown = metrics(app)
    assert shown["evaluations of 40"] == "40"  # the budget in the label: never cut
    assert shown["best score"] == formatting.score(summary["best_score"])
    assert shown["seed score"] == formatting.score(summary["seed_score"])
    assert shown["reference"] == "2.635"
    assert shown["ok"] == str(summary["evaluations"]["ok"])
    text = page_text(app)
    assert "Best score over time" in text
    assert "Scores per island" in text
    assert "MAP-Elites grid" in text
    assert "cells filled" in text
    assert "finished" in text
    # Every evaluation's isolation is stated: all 40 ran under bubblewrap.
    assert "isolation: process" in text and "bubblewrap" in text and "×40" in text, text
    app.radio(key="best_axis").set_value("time").run()
    assert not app.exception


def test_run_page_counts_failures_and_spend(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.llm
    app = open_page(seeded_store.url, "views/run.py", run=summary["run_id"][:6])
    shown = metrics(app)
    assert shown["failed"] == "1"
    assert shown["spend"] == formatting.money(summary["spend_usd"])
    assert f"{summary['proposer_calls']:,} model calls" in page_text(app)


def test_candidate_page_shows_code_diff_evaluation_and_the_models_exchange(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.llm
    app = open_page(seeded_store.url, "views/candidate.py", run=summary["run_id"])
    assert not app.exception
    text = page_text(app)
    # The default candidate is the run's best.
    assert app.title[0].value.endswith(formatting.score(summary["best_score"]))
    assert "best of the run" in text
    assert [tab.label for tab in app.tabs] == [
        "Artifact", "Diff vs parent", "Diff vs seed", "Evaluation", "Proposer", "Family",
    ]  # fmt: skip
    repo = seeded_store.repo()
    best = repo.candidate_view(summary["best_candidate_id"])
    parent = repo.candidate_view(best.parent_id)
    best_x = re.search(r"^X = .*$", best.files["program.py"], re.M).group(0)
    parent_x = re.search(r"^X = .*$", parent.files["program.py"], re.M).group(0)
    code = [block.value for block in app.code]
    assert code[0] == best.files["program.py"].rstrip("\n")  # the artifact, highlighted
    assert app.code[0].language == "python"
    assert f"-{parent_x}\n+{best_x}" in code[1]  # against its parent
    assert f"-X = 1.0\n+{best_x}" in code[2]  # against the seed
    # The prompt the model saw and its answer, with tokens and cost.
    assert "Move X to the hidden target." in text
    assert "<<<<<<< SEARCH program.py" in text
    shown = metrics(app)
    assert shown["tokens in"] == "1,000"
    assert shown["tokens out"] == "200"
    assert "Ancestry" in text


def test_a_failed_candidate_shows_its_reason(seeded_store: SeededStore, open_page) -> None:
    repo = seeded_store.repo()
    failed = [
        n for n in repo.lineage(seeded_store.llm["run_id"])["nodes"] if n["status"] == "failed"
    ]
    assert len(failed) == 1
    app = open_page(
        seeded_store.url,
        "views/candidate.py",
        run=seeded_store.llm["run_id"],
        candidate=failed[0]["id"],
    )
    assert not app.exception
    # The element holds Markdown; the reason is escaped so it reads exactly as written
    # (the browser test checks what Chromium shows).
    shown = re.sub(r"\\(.)", r"\1", app.error[0].value)
    assert shown == f"reason: {failed[0]['reason']}"
    assert "not a number" in page_text(app)


def test_compare_shows_both_scores_and_their_difference(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.llm
    app = open_page(seeded_store.url, "views/compare.py", run=summary["run_id"])
    assert not app.exception
    table = app.dataframe[0].value.set_index("metric")
    # A defaults to the seed and B to the best.
    assert table.loc["score", "A"] == formatting.score(summary["seed_score"])
    assert table.loc["score", "B"] == formatting.score(summary["best_score"])
    expected = summary["best_score"] - summary["seed_score"]
    assert table.loc["score", "B − A"] == f"{expected:+.6g}"
    assert "-X = 1.0" in page_text(app)


def test_export_page_offers_the_zip(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.packing
    app = open_page(seeded_store.url, "views/export.py", run=summary["run_id"])
    assert not app.exception
    assert "Download the best 1" in page_text(app)
    app.radio[0].set_value("Candidates I choose").run()
    assert not app.exception
    assert app.multiselect[0].value == [summary["best_candidate_id"]]
    assert "Download the 1 chosen" in page_text(app)


def test_the_zip_has_the_same_layout_and_metadata_as_evoforge_export(
    seeded_store: SeededStore, tmp_path
) -> None:
    run_id = seeded_store.packing["run_id"]
    database = open_read_only(seeded_store.url)
    expected = export_run(database, run_id, tmp_path, top_k=2)
    archive = zipfile.ZipFile(io.BytesIO(export_zip(database, run_id, top_k=2)))
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(archive.namelist()) == on_disk
    assert json.loads(archive.read("metadata.json")) == json.loads(
        json.dumps(expected, default=str)
    )
    assert json.loads(archive.read("lineage.json"))["run_id"] == run_id


def test_chosen_candidates_export_in_the_order_given_and_only_from_their_run(
    seeded_store: SeededStore,
) -> None:
    database = open_read_only(seeded_store.url)
    run_id = seeded_store.llm["run_id"]
    failed = next(n for n in seeded_store.repo().lineage(run_id)["nodes"] if n["reason"])
    chosen = [failed["id"], seeded_store.llm["best_candidate_id"]]
    archive = zipfile.ZipFile(io.BytesIO(export_zip(database, run_id, chosen)))
    metadata = json.loads(archive.read("metadata.json"))
    assert [c["candidate_id"] for c in metadata["candidates"]] == chosen
    assert metadata["candidates"][0]["score"] is None
    stranger = seeded_store.packing["best_candidate_id"]
    with pytest.raises(ExportError, match=f"candidate {stranger} is not part of run {run_id}"):
        export_zip(database, run_id, [stranger])


def test_no_page_ever_shows_the_model_key(seeded_store: SeededStore, open_page) -> None:
    for page in PAGES:
        app = open_page(seeded_store.url, page, run=seeded_store.llm["run_id"])
        assert not app.exception, page
        assert SECRET not in page_text(app), page


def test_a_missing_store_gets_a_first_run_page_and_is_not_created(open_page, tmp_path) -> None:
    path = tmp_path / "nowhere" / "evoforge.db"
    for page in PAGES:
        app = open_page(f"sqlite:///{path}", page)
        assert not app.exception, page
        assert app.title[0].value == "No runs yet", page
        assert "evoforge run circle_packing" in page_text(app)
    assert not path.exists() and not path.parent.exists()


def test_an_empty_store_gets_the_first_run_page(open_page, tmp_path) -> None:
    from evoforge.store import open_database

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_database(url).close()  # tables, no runs
    app = open_page(url, "views/run.py")
    assert not app.exception
    assert "The store has no runs yet" in page_text(app)
    app = open_page(url)
    assert app.title[0].value == "No runs yet"


def test_an_unknown_run_id_says_so_in_one_line(seeded_store: SeededStore, open_page) -> None:
    app = open_page(seeded_store.url, "views/run.py", run="ffffffffffff")
    assert not app.exception
    assert "no run matches 'ffffffffffff'" in app.error[0].value


def test_lineage_page_counts_candidates_and_lists_the_failure_with_its_reason(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.llm
    app = open_page(seeded_store.url, "views/lineage.py", run=summary["run_id"])
    assert not app.exception
    captions = [caption.value for caption in app.caption]
    ok = summary["evaluations"]["ok"]
    assert f"{summary['candidates']} candidates · {ok} ok · 1 failed" in captions
    assert any(f"best {formatting.score(summary['best_score'])}" in c for c in captions)
    failed = [n for n in seeded_store.repo().lineage(summary["run_id"])["nodes"] if n["reason"]]
    failures = app.dataframe[0].value  # one line per reason, as on the Run page
    assert failures.to_dict("records") == [
        {"count": 1, "status": failed[0]["status"], "reason": failure_reason(failed[0]["reason"])}
    ]
    app.radio[0].set_value("island").run()
    assert not app.exception
