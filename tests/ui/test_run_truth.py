"""The pages tell the truth about a run (issue 20, items 2-4 and 6): which run they
show, after any navigation; what failed and why; what the model's answers became;
what the result is worth against the seed and the reference.

Each test opens pages with Streamlit's AppTest on runs made through `run_task`: a run
whose every evaluation failed, an llm run whose answers were mostly rejected, and the
seeded circle-packing and toy runs of `conftest.py`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import SeededStore
from page_text import page_links, page_text
from truth_runs import (
    FAILED_EVALUATIONS,
    NO_EDIT,
    STALE_SEARCH,
    TORCH_REASON,
    TruthRuns,
    make_truth_runs,
)

from evoforge.store import Repository
from evoforge.ui import formatting


@pytest.fixture(scope="session")
def truth_runs(tmp_path_factory: pytest.TempPathFactory) -> TruthRuns:
    return make_truth_runs(tmp_path_factory.mktemp("ui-truth"))


def shown(text: str) -> str:
    """Markdown as a reader sees it: the escapes `formatting.literal` adds removed."""
    return re.sub(r"\\(.)", r"\1", text)


def test_a_run_where_every_evaluation_failed_names_the_reason_with_its_count(
    truth_runs: TruthRuns, open_page
) -> None:
    summary = truth_runs.failed
    app = open_page(truth_runs.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    error = shown(app.error[0].value)
    total = FAILED_EVALUATIONS
    assert f"{total} of {total} failed: {TORCH_REASON}" in error
    assert "Every evaluation failed" in error
    assert "no valid result" in shown(page_text(app))
    # No chart pretends there is something to plot.
    assert "Best score over time" not in page_text(app)
    assert "nothing to chart" in page_text(app)


def test_failures_are_grouped_by_reason_not_repeated(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.llm
    app = open_page(seeded_store.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    failures = next(f.value for f in app.dataframe if "reason" in f.value.columns)
    assert list(failures["count"]) == [g["count"] for g in summary["failures"]]
    assert list(failures["reason"]) == [g["reason"] for g in summary["failures"]]
    assert len(set(failures["reason"])) == len(failures)


def test_the_run_page_counts_proposals_by_outcome_with_the_top_rejection_reasons(
    truth_runs: TruthRuns, open_page
) -> None:
    summary = truth_runs.rejected
    repo = truth_runs.repo()
    counts = repo.proposal_counts(summary["run_id"])
    assert counts["rejected"] > summary["evaluations"]["total"]  # the spend the page must show
    app = open_page(truth_runs.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    metrics = {shown(m.label): m.value for m in app.metric}
    assert metrics["spend of $1.00"] == formatting.money(summary["spend_usd"])
    assert metrics["evaluations of 4"] == f"{summary['evaluations']['total']:,}"
    assert metrics["proposals"] == str(counts["total"])
    for status in ("accepted", "duplicate", "rejected", "failed"):
        assert metrics[f"{status} proposals"] == str(counts[status]), status
    reasons = next(
        f.value for f in app.dataframe if "reason" in f.value.columns and "status" in f.value
    )
    assert list(reasons["count"]) == sorted(reasons["count"], reverse=True)
    assert sum(reasons["count"]) == counts["rejected"]
    assert STALE_SEARCH in reasons["reason"].iloc[0]  # the more frequent one first
    assert "holds no SEARCH/REPLACE block" in reasons["reason"].iloc[1]
    assert f"{counts['rejected']} of {counts['total']} model answers became no candidate" in (
        page_text(app)
    )


def test_the_proposals_page_shows_each_rejected_answer_with_its_prompt_and_reason(
    truth_runs: TruthRuns, open_page
) -> None:
    summary = truth_runs.rejected
    app = open_page(truth_runs.url, "views/proposals.py", run=summary["run_id"])
    assert not app.exception
    assert summary["run_id"] in app.title[0].value and "toy" in app.title[0].value
    rejected = [
        p for p in truth_runs.repo().list_proposals(summary["run_id"]) if p["status"] == "rejected"
    ]
    assert len(app.expander) == len(rejected)
    code = [block.value for block in app.code]
    for proposal in rejected:
        assert proposal["reason"] in code
    assert any(block == NO_EDIT for block in code)  # the model's answer, as written
    assert any(f"SEARCH program.py\n{STALE_SEARCH}" in block for block in code)
    assert any("Move X to the hidden target." in block for block in code)  # the prompt
    # Accepted proposals are one click away.
    app.multiselect(key="proposal_statuses").set_value(["accepted"]).run()
    assert len(app.expander) == truth_runs.repo().proposal_counts(summary["run_id"])["accepted"]


def test_the_run_page_opens_with_the_result_against_seed_and_reference(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.packing
    app = open_page(seeded_store.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    best, seed, reference = summary["best_score"], summary["seed_score"], summary["reference_score"]
    line = shown(app.markdown[0].value)
    assert f"best {formatting.score(best)}" in line
    assert f"{(best - seed) / abs(seed):+.1%} over the seed {formatting.score(seed)}" in line
    assert f"{best / reference:.1%} of the reference {formatting.score(reference)}" in line
    assert "no model calls" in line  # an offline run spent nothing
    assert f"{summary['evaluations']['total']} evaluations in " in line
    assert f"{summary['status']}: {summary['stop_reason']}" in line


def test_the_summary_names_spend_and_model_calls(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.llm
    app = open_page(seeded_store.url, "views/run.py", run=summary["run_id"])
    line = shown(app.markdown[0].value)
    calls = summary["proposer_calls"]
    assert f"{formatting.money(summary['spend_usd'])} over {calls} model calls" in line


@pytest.mark.parametrize(
    "page", ["views/lineage.py", "views/candidate.py", "views/compare.py", "views/export.py",
             "views/proposals.py", "views/run.py"],
)  # fmt: skip
def test_the_sidebar_keeps_the_run_the_user_was_looking_at(
    seeded_store: SeededStore, open_page, page: str
) -> None:
    # The packing run is the older one: a page that forgets the run shows the toy run.
    older = seeded_store.packing["run_id"]
    app = open_page(seeded_store.url, "views/run.py", run=older)
    assert older in app.title[0].value
    app.switch_page(page)  # the sidebar's links carry no query parameters
    app.query_params.clear()
    app.run()
    assert not app.exception, page
    assert app.query_params["run"] == older, page
    assert older in page_text(app), page
    assert seeded_store.llm["run_id"] not in page_text(app).replace(older, ""), page


def test_compare_and_export_name_the_task_and_run(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.llm
    for page in ("views/compare.py", "views/export.py"):
        app = open_page(seeded_store.url, page, run=summary["run_id"])
        assert f"{summary['task']} · run {summary['run_id']}" in app.title[0].value, page


def test_an_unknown_candidate_id_says_so_instead_of_showing_the_best(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.llm
    app = open_page(
        seeded_store.url, "views/candidate.py", run=summary["run_id"], candidate="nosuchthing"
    )
    assert not app.exception
    assert f"Run {summary['run_id']} has no candidate 'nosuchthing'" in shown(app.error[0].value)
    assert not [t for t in app.title if t.value.startswith("Candidate #")]
    app = open_page(seeded_store.url, "views/compare.py", run=summary["run_id"], b="nosuchthing")
    assert "has no candidate 'nosuchthing'" in shown(app.error[0].value)


def test_a_failed_candidate_is_not_labelled_the_best(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.llm
    repo = seeded_store.repo()
    failed = next(n for n in repo.lineage(summary["run_id"])["nodes"] if n["status"] == "failed")
    app = open_page(
        seeded_store.url, "views/candidate.py", run=summary["run_id"], candidate=failed["id"]
    )
    labels = page_links(app)
    assert "Best candidate" not in labels
    assert f"run={summary['run_id']}" in labels[f"Candidate #{failed['seq']}"]
    assert f"candidate={failed['id']}" in labels[f"Candidate #{failed['seq']}"]
    assert f"b={failed['id']}" in labels["Compare"]  # compared with the seed from here
    app = open_page(seeded_store.url, "views/compare.py", run=summary["run_id"], b=failed["id"])
    assert any(m.value.startswith(f"**B: #{failed['seq']}** · failed: ") for m in app.markdown)
    best = f"The run's best: {summary['best_candidate_id']}"
    assert f"candidate={summary['best_candidate_id']}" in labels[best]
    # The best candidate's own page names it so.
    app = open_page(seeded_store.url, "views/candidate.py", run=summary["run_id"], candidate="best")
    assert app.title[0].value.endswith(formatting.score(summary["best_score"]))
    assert "Best candidate" in page_links(app)


def test_numbers_read_to_six_digits_and_float_noise_as_no_difference() -> None:
    assert formatting.value(0.30000000000000004) == "0.3"
    assert formatting.difference(0.30000000000000004, 0.3) == "0"
    assert formatting.difference(2.5, 2.0) == "+0.5"
    assert formatting.money(0) == formatting.money(None) == "$0.0000"
    assert formatting.money(0.01234) == "$0.0123"
    assert formatting.money(1234.5) == "$1,234.50"
    assert formatting.against_seed(2.3, 2.0, "maximize") == "+15.0% over the seed"
    assert formatting.against_seed(1.5, 2.0, "minimize") == "25.0% below the seed"
    assert formatting.against_seed(1.0, 0.0, "maximize") is None  # no share of zero
    assert formatting.against_seed(90.1, 1.0, "maximize") == "+8,910.0% over the seed"
    assert formatting.against_reference(2.36, 2.635, "maximize") == "89.6% of the reference"
    assert formatting.against_reference(-0.5, -0.25, "maximize") == "-0.25 from the reference"


def drawn_best(app: Any) -> list[float]:
    """The "best so far" line of the page's first chart (Best score over time), as the
    Run page sent it to the browser."""
    import pyarrow as pa

    charts: list[Any] = []

    def walk(node: Any) -> None:
        if getattr(node, "type", None) == "vega_lite_chart":
            charts.append(node.proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    found: list[float] = []
    for named in charts[0].datasets if charts else []:
        table = pa.ipc.open_stream(named.data.data).read_all().to_pandas()
        if "best" in table.columns:
            found.extend(float(v) for v in table["best"])
    return found


def test_the_best_on_the_chart_is_the_best_show_json_reports(screened_store, open_page) -> None:
    from cli_helpers import cli_json

    run_id = screened_store.summary["run_id"]
    reported = cli_json("show", run_id, "--db", screened_store.url)["best_score"]
    app = open_page(screened_store.url, "views/run.py", run=run_id)
    assert not app.exception
    line = drawn_best(app)
    assert line, "the page drew no best-so-far line"
    assert max(line) == line[-1] == reported  # a pareto run's screen never tops it
    assert f"best {formatting.score(reported)}" in shown(app.markdown[0].value)


def test_the_best_candidate_link_opens_the_best_after_another_candidate_was_shown(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.llm
    seed = seeded_store.repo().seed_candidate(summary["run_id"])
    app = open_page(
        seeded_store.url, "views/candidate.py", run=summary["run_id"], candidate=seed.id
    )
    assert app.title[0].value.startswith(f"Candidate #{seed.seq} ")
    # From the sidebar the page keeps the seed; the "Best candidate" link opens the best.
    app.query_params.clear()
    app.run()
    assert app.query_params["candidate"] == seed.id
    app.query_params["candidate"] = "best"
    app.run()
    assert app.query_params["candidate"] == summary["best_candidate_id"]
    assert "best of the run" in page_text(app)


def test_a_run_without_a_valid_candidate_offers_no_best_candidate(
    truth_runs: TruthRuns, open_page
) -> None:
    run_id = truth_runs.failed["run_id"]
    for page in ("views/run.py", "views/lineage.py", "views/candidate.py"):
        app = open_page(
            truth_runs.url, page, run=run_id, **({"candidate": "best"} if "cand" in page else {})
        )
        assert not app.exception, page
        assert "Best candidate" not in page_links(app), page
    assert "This run has no valid candidate yet; here is its seed." in page_text(app)


def test_the_proposals_page_prints_nothing_but_its_content(
    truth_runs: TruthRuns, open_page
) -> None:
    app = open_page(truth_runs.url, "views/proposals.py", run=truth_runs.rejected["run_id"])
    assert not [m.value for m in app.markdown if "paged" in m.value]


def test_the_summary_measures_the_best_against_the_strongest_documented_baseline() -> None:
    from evoforge.ui import headline

    summary = {
        "best_score": 2.0,
        "seed_score": 1.0,
        "reference_score": 1.0,
        "direction": "maximize",
        "strongest_baseline": "tuned-greedy",
        "strongest_baseline_score": 2.5,
    }
    assert headline.achievement(summary) == (
        "best 2 (+100.0% over the seed 1, 200.0% of the reference 1, "
        "80.0% of the strongest documented baseline (tuned-greedy) 2.5)"
    )
    # Where the reference is the strongest baseline, it is said once.
    summary["strongest_baseline_score"] = 1.0
    assert "baseline" not in headline.achievement(summary)
    # A run searched on the public protocol says its scores are the public ones.
    summary["trained_on"] = "public"
    assert headline.achievement(summary).startswith("best 2 on the public protocol (")


def test_a_candidate_page_measures_its_score_against_the_seed_and_reference(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.packing
    app = open_page(seeded_store.url, "views/candidate.py", run=summary["run_id"])
    best, seed, reference = summary["best_score"], summary["seed_score"], summary["reference_score"]
    expected = (
        f"{(best - seed) / abs(seed):+.1%} over the seed, {best / reference:.1%} of the reference"
    )
    assert expected in [shown(m.value) for m in app.markdown]


def test_a_failed_candidates_page_names_its_failure_at_the_top(
    truth_runs: TruthRuns, open_page
) -> None:
    run_id = truth_runs.failed["run_id"]
    app = open_page(truth_runs.url, "views/candidate.py", run=run_id)
    assert app.title[0].value.endswith(" · failed")
    assert f"**failed**: {TORCH_REASON}" in shown(app.markdown[0].value)


def test_a_proposals_reason_prompt_and_answer_are_shown_as_text(
    tmp_path_factory: pytest.TempPathFactory, open_page
) -> None:
    from hostile_run import bait, hostile_run
    from test_untrusted_text import shown_markdown, unescaped

    from evoforge.proposals import ProposerCall
    from evoforge.store import open_database

    port = 9
    url, run_id = hostile_run(tmp_path_factory.mktemp("hostile-proposal"), port)
    reason, answer = bait("reason", port), bait("answer", port)
    Repository(open_database(url)).record_proposal(
        run_id,
        seq=99,
        parent_id=None,
        candidate_id=None,
        proposer="llm",
        kind="diff",
        status="rejected",
        reason=reason,
        calls=[
            ProposerCall(model=bait("model", port), prompt=bait("prompt", port), response=answer)
        ],
    )
    for page in ("views/run.py", "views/proposals.py"):
        app = open_page(url, page, run=run_id)
        assert not app.exception, page
        for kind, text in shown_markdown(app):
            assert unescaped(text) == [], (page, kind, text)
    # As written, in a table cell (run page) and in code blocks (proposals page).
    assert answer in [block.value for block in app.code]
    assert reason in [block.value for block in app.code]


def test_export_from_a_candidates_page_starts_with_that_candidate(
    seeded_store: SeededStore, open_page
) -> None:
    summary = seeded_store.llm
    seed = seeded_store.repo().seed_candidate(summary["run_id"])
    app = open_page(
        seeded_store.url, "views/candidate.py", run=summary["run_id"], candidate=seed.id
    )
    assert f"candidate={seed.id}" in page_links(app)["Export"]
    app = open_page(seeded_store.url, "views/export.py", run=summary["run_id"], candidate=seed.id)
    assert app.radio[0].value == "Candidates I choose"
    assert app.multiselect[0].value == [seed.id]
    assert "Download the 1 chosen" in page_text(app)
    app = open_page(seeded_store.url, "views/export.py", run=summary["run_id"], candidate="nope")
    assert f"Run {summary['run_id']} has no candidate 'nope'" in shown(app.error[0].value)


def test_compare_on_a_run_without_a_best_sets_another_candidate_against_the_seed(
    truth_runs: TruthRuns, open_page
) -> None:
    run_id = truth_runs.failed["run_id"]
    app = open_page(truth_runs.url, "views/compare.py", run=run_id)
    assert not app.exception
    assert not app.error
    a, b = (m.value for m in app.markdown if m.value.startswith(("**A:", "**B:")))
    assert a.startswith("**A: #1** · failed: ") and not b.startswith("**B: #1**")


def test_moving_to_another_run_shows_that_runs_candidates(
    seeded_store: SeededStore, open_page
) -> None:
    packing, llm = seeded_store.packing, seeded_store.llm
    app = open_page(seeded_store.url, "views/candidate.py", run=llm["run_id"])
    assert app.query_params["candidate"] == llm["best_candidate_id"]
    app.query_params.clear()
    app.query_params["run"] = packing["run_id"]  # a link from the Runs page
    app.run()
    assert not app.exception
    assert app.query_params["candidate"] == packing["best_candidate_id"]
    for page, key in (("views/compare.py", "b"), ("views/candidate.py", "candidate")):
        app.switch_page(page)
        app.query_params.clear()
        app.query_params["run"] = llm["run_id"]
        app.run()
        assert not app.exception, page
        assert app.query_params[key] == llm["best_candidate_id"], page


def test_the_runs_table_says_what_each_best_is_worth(seeded_store: SeededStore, open_page) -> None:
    summary = seeded_store.packing
    app = open_page(seeded_store.url)
    table = app.dataframe[0].value
    row = table[table["task"] == "circle_packing"].iloc[0]
    best, seed, reference = summary["best_score"], summary["seed_score"], summary["reference_score"]
    assert row["vs seed"] == f"{(best - seed) / abs(seed):+.1%} over the seed"
    assert row["vs reference"] == f"{best / reference:.1%} of the reference"
