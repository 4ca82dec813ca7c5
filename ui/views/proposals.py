"""Proposals: every answer the model gave, including the ones that became no
candidate. A run can spend hundreds of model calls on answers that were rejected (a
diff that did not match, an edit outside the evolve blocks) and show only the few
that were evaluated; this page is where that spend and its reasons are seen.

Prompts, answers and reasons come from a model and a candidate: they are shown as
text (code blocks, table cells, escaped Markdown), never rendered.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.proposals import PROPOSAL_STATUSES
from evoforge.store.runs import failure_reason
from evoforge.ui import connection, formatting, links
from evoforge.ui.redact import redact

# Proposals listed with their prompt and answer at once; more are paged. (A comment,
# not a docstring: Streamlit's magic would print a bare string on the page.)
SHOWN = 50


def show_proposal(calls: list[dict[str, Any]]) -> None:
    if not calls:
        st.caption("No model call is recorded for this proposal (an offline proposer).")
    for number, call in enumerate(calls, start=1):
        st.markdown(
            f"**call {number}** · {formatting.literal(call['model'])} · "
            f"{call['tokens_in']:,} in / {call['tokens_out']:,} out · "
            f"{formatting.literal(formatting.money(call['cost_usd']))}"
        )
        if call["error"]:
            st.error(formatting.literal(call["error"]))
        st.markdown("**Prompt**")
        st.code(redact(call["prompt"]), language=None, wrap_lines=True)
        st.markdown("**Response**")
        st.code(redact(call["response"]), language=None, wrap_lines=True)


repo = connection.repository()
summary = links.choose_run(repo)
run_id = summary["run_id"]
links.run_links(run_id, has_best=summary["best_candidate_id"] is not None)
st.title(f"Proposals · {summary['task']} · run {run_id}")
proposals = repo.list_proposals(run_id)
counts = repo.proposal_counts(run_id)
columns = st.columns(len(PROPOSAL_STATUSES) + 1)
columns[0].metric("proposals", f"{counts['total']:,}")
for column, status in zip(columns[1:], PROPOSAL_STATUSES, strict=True):
    column.metric(f"{status} proposals", f"{counts[status]:,}")
if not proposals:
    st.info("This run recorded no proposals (a run from before proposals were kept, or one "
            "that only evaluated its seed).")  # fmt: skip
    st.stop()

groups = repo.rejection_reasons(run_id)
if groups:
    st.subheader("Why answers became no candidate")
    st.dataframe(
        pd.DataFrame(groups, columns=["count", "status", "reason"]),
        hide_index=True,
        column_config={"reason": st.column_config.TextColumn("reason", width="large")},
    )

statuses = st.multiselect(
    "Outcome",
    list(PROPOSAL_STATUSES),
    default=["rejected", "failed"],
    key="proposal_statuses",
)
chosen = [p for p in proposals if p["status"] in statuses]
st.caption(f"{len(chosen):,} of {len(proposals):,} proposals, oldest first")
if not chosen:
    st.stop()
pages = max(1, -(-len(chosen) // SHOWN))
page = int(st.number_input("Page", 1, pages, 1, key="proposal_page")) if pages > 1 else 1
shown = chosen[(page - 1) * SHOWN : page * SHOWN]
calls = repo.proposal_calls(run_id, [p["id"] for p in shown])
for proposal in shown:
    reason = failure_reason(proposal["reason"] or "") if proposal["reason"] else ""
    title = f"#{proposal['seq']} · {proposal['status']} · {proposal['kind']}"
    if reason:
        title += f" · {reason}"
    with st.expander(formatting.literal(title)):
        if proposal["reason"]:
            st.markdown("**Reason**")
            st.code(proposal["reason"], language=None, wrap_lines=True)
        if proposal["candidate_id"]:
            links.candidate_link(run_id, proposal["candidate_id"], "Open the candidate it made")
        if proposal["parent_id"]:
            links.candidate_link(run_id, proposal["parent_id"], "Open its parent")
        show_proposal(calls.get(proposal["id"], []))
