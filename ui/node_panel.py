"""The lineage page's side panel: one candidate's score, code, diff against its parent
and prompt, beside the graph, so looking at a node does not mean leaving the graph
(the full candidate page is one click further). Everything the candidate or the model
wrote is shown as text: code blocks, and captions escaped by `formatting.literal`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evoforge.store import Repository, StoreError
from evoforge.ui import artifacts, connection, formatting, frames, links, picking
from evoforge.ui.redact import redact

HINT = "Click a node to see its score, code, diff and prompt here."


def show(
    repo: Repository, summary: dict[str, Any], candidate_id: str | None
) -> dict[str, Any] | None:
    """The panel for `candidate_id`, or a hint when none (or one of another run) is
    chosen: an id in the URL is the user's to edit. Returns the candidate shown, so the
    page's links can carry it, or None."""
    run_id = summary["run_id"]
    detail = (
        _node(repo, connection.database_url(), candidate_id, picking.version(summary))
        if candidate_id
        else None
    )
    if detail is None or detail["candidate"]["run_id"] != run_id:
        st.caption(HINT)
        return None
    details(detail, run_id, summary.get("best_candidate_id"))
    return dict(detail["candidate"])


@st.cache_data(show_spinner=False, max_entries=64)
def _node(
    _repo: Repository, store: str | None, candidate_id: str, version: tuple[Any, ...]
) -> dict[str, Any] | None:
    """What the side panel shows of one candidate, its diff against its parent worked
    out once; None if the store has no such candidate."""
    try:
        detail = _repo.candidate_detail(candidate_id)
    except StoreError:
        return None
    candidate = detail["candidate"]
    parent = candidate["parent_id"]
    detail["parent_diff"] = (
        artifacts.diff(
            _repo.candidate_view(parent).files, candidate["files"], "parent", "candidate"
        )
        if parent
        else None
    )
    return detail


def details(detail: dict[str, Any], run_id: str, best_id: str | None) -> None:
    """One candidate beside the graph: score, code, diff and prompt. Everything the
    candidate or the model wrote is shown as text (code blocks, escaped captions)."""
    candidate = detail["candidate"]
    evaluation = detail["evaluation"]
    if evaluation is None:
        score = "not evaluated yet"
    else:
        score = frames.score_text(evaluation["status"], evaluation["score"], evaluation["stage"])
        if evaluation["status"] != "ok":
            score = evaluation["status"]
    best = " · best of the run" if candidate["id"] == best_id else ""
    st.subheader(f"#{candidate['seq']} · {score}")
    st.caption(
        f"{candidate['id']} · {formatting.literal(candidate['kind'])} by "
        f"{formatting.literal(candidate['proposer'] or '–')} · generation "
        f"{candidate['generation']} · island {candidate['island']}{best}"
    )
    if evaluation is not None and evaluation["reason"]:
        st.error(f"reason: {formatting.literal(evaluation['reason'])}")
    links.candidate_link(run_id, candidate["id"], "Open the full candidate page")
    code, diff, prompt = st.tabs(["Code", "Diff vs parent", "Prompt"])
    with code:
        for name in sorted(candidate["files"]):
            st.caption(formatting.literal(name))
            st.code(candidate["files"][name], language=artifacts.language(name))
    with diff:
        if detail["parent_diff"] is None:
            st.caption("The seed has no parent.")
        elif not detail["parent_diff"]:
            st.caption("Identical to its parent.")
        else:
            added, removed = artifacts.changed_lines(detail["parent_diff"])
            st.caption(f"against its parent: +{added} −{removed} lines")
            st.code(detail["parent_diff"], language="diff")
    with prompt:
        calls = detail["proposer_calls"]
        if not calls:
            st.caption("No model call made this candidate (a seed, or an offline proposer).")
        for number, call in enumerate(calls, start=1):
            if len(calls) > 1:
                st.caption(f"call {number} of {len(calls)}: {formatting.literal(call['model'])}")
            st.code(redact(call["prompt"]), language=None, wrap_lines=True)
