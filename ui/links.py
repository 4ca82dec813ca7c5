"""The pages' addresses and how a page learns which run and candidate to show.

State lives in the URL's query parameters (`?run=…&candidate=…`) so every view can
be bookmarked, reloaded and opened in a second tab. Page paths are relative to the
entry script, as `st.Page`, `st.page_link` and `st.switch_page` expect them.

The sidebar's links are the navigation's own and carry no query parameters, so the
run (and candidate) a page last showed is also kept in the session: a page opened
from the sidebar shows the same run rather than the newest one.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evoforge.store import Repository, StoreError
from evoforge.ui import formatting

RUNS = "views/runs.py"
RUN = "views/run.py"
LINEAGE = "views/lineage.py"
CANDIDATE = "views/candidate.py"
COMPARE = "views/compare.py"
EXPORT = "views/export.py"
PROPOSALS = "views/proposals.py"

BEST = "best"
"""`?candidate=best`: the run's best candidate, whichever it is when the page opens."""

_RUN_KEY = "shown_run"
_CANDIDATE_KEY = "shown_candidate"
_HAS_BEST_KEY = "shown_run_has_best"


def param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value or None


def choose_run(repo: Repository) -> dict[str, Any]:
    """The run named by `?run=` (an id, a unique prefix or `latest`), else the run the
    session last showed, else a picker defaulting to the newest run. Returns its
    summary and writes its id back to the URL; stops with a message when the store has
    no runs or the id matches none."""
    wanted = param("run") or st.session_state.get(_RUN_KEY)
    if wanted is not None:
        try:
            summary = repo.run_summary(repo.resolve_run_id(wanted))
        except StoreError as exc:
            st.session_state.pop(_RUN_KEY, None)
            st.error(formatting.literal(str(exc)))  # it repeats the URL's ?run=
            st.stop()
        return _shown(summary)
    runs = repo.list_runs()
    if not runs:
        st.info("The store has no runs yet. Start one with `evoforge run TASK`.")
        st.stop()
    labels = {r["run_id"]: f"{r['run_id']}  {r['task']}  ({r['status']})" for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.__getitem__, key="run_picker")
    return _shown(next(r for r in runs if r["run_id"] == run_id))


def _shown(summary: dict[str, Any]) -> dict[str, Any]:
    st.query_params["run"] = summary["run_id"]
    st.session_state[_RUN_KEY] = summary["run_id"]
    st.session_state[_HAS_BEST_KEY] = summary["best_candidate_id"] is not None
    return summary


def remember_candidate(run_id: str, candidate_id: str) -> None:
    """Keep the candidate a page shows, for the sidebar's Candidate link."""
    st.session_state[_CANDIDATE_KEY] = (run_id, candidate_id)


def remembered_candidate(run_id: str) -> str | None:
    """The candidate of this run the session last showed, if any."""
    found = st.session_state.get(_CANDIDATE_KEY)
    return found[1] if found and found[0] == run_id else None


def run_links(
    run_id: str,
    candidate_id: str | None = None,
    candidate_label: str | None = None,
    has_best: bool | None = None,
) -> None:
    """The row of links every run-scoped page carries. Each keeps the run; from a
    candidate's page they keep the candidate too (Compare sets it against the seed,
    Export starts with it). The candidate link is labelled by what it opens: a page
    highlights its own link, so "Best candidate" must not light up over a failed
    seed, nor name a run that has no valid candidate (`has_best`; by default, whether
    the run `choose_run` returned has one)."""
    if has_best is None:
        has_best = bool(st.session_state.get(_HAS_BEST_KEY, True))
    if candidate_label is None:
        candidate_label = "Best candidate" if has_best else "Candidates"
    shown = {"candidate": candidate_id} if candidate_id else {"candidate": BEST}
    against = {"b": candidate_id} if candidate_id else {}
    columns = st.columns(6)
    for column, (page, label, extra) in zip(
        columns,
        [
            (RUN, "Progress", {}),
            (LINEAGE, "Lineage", {}),
            (CANDIDATE, candidate_label, shown),
            (PROPOSALS, "Proposals", {}),
            (COMPARE, "Compare", against),
            (EXPORT, "Export", {"candidate": candidate_id} if candidate_id else {}),
        ],
        strict=True,
    ):
        with column:
            st.page_link(page, label=label, query_params={"run": run_id, **extra})


def candidate_link(run_id: str, candidate_id: str, label: str | None = None) -> None:
    st.page_link(
        CANDIDATE,
        label=label or candidate_id,
        query_params={"run": run_id, "candidate": candidate_id},
    )
