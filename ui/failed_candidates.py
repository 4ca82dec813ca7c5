"""The Lineage page's failed candidates: one row per reason with its count, grouped the
way the Run page and `evoforge show` group them (`failure_reason`, the reason's first
line), so a run where 45 candidates failed on one missing module reads as one line, not
45. Picking a reason lists its candidates, and picking one of those opens its page.

Reasons and ids are candidate-controlled text: they reach only table cells, which
Streamlit draws as text.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.store.runs import failure_reason
from evoforge.ui import links

GROUP_COLUMNS = ["count", "status", "reason"]
MEMBER_COLUMNS = ["id", "seq", "generation", "island", "kind"]


def groups(failures: pd.DataFrame) -> pd.DataFrame:
    """Failures by status and reason, most frequent first (ties by status, then
    reason, as the store orders the summary's `failures`), with every group kept: the
    summary stops at ten, but this table is where a user goes to find the rest."""
    if failures.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    keyed = failures.assign(reason=failures["reason"].map(failure_reason))
    counted = keyed.groupby(["status", "reason"], sort=False).size().reset_index(name="count")
    counted["_order"] = -counted["count"]
    counted = counted.sort_values(["_order", "status", "reason"], kind="stable")
    return counted[GROUP_COLUMNS].reset_index(drop=True)


def members(failures: pd.DataFrame, status: str, reason: str) -> pd.DataFrame:
    """The failed candidates of one group, in the order they were made."""
    chosen = (failures["status"] == status) & (failures["reason"].map(failure_reason) == reason)
    return failures.loc[chosen, MEMBER_COLUMNS].sort_values("seq").reset_index(drop=True)


def show(run_id: str, failures: pd.DataFrame) -> None:
    """The grouped table; under it, once a reason is picked, its candidates, each
    opening its own page when picked (the whole reason and output are there)."""
    grouped = groups(failures)
    table = st.dataframe(
        grouped,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=f"lineage-failure-groups-{run_id}",
        column_config={"reason": st.column_config.TextColumn("reason", width="large")},
    )
    picked = selected_rows(table)
    if not picked or picked[0] >= len(grouped):
        st.caption(
            "Grouped by the first line of their reason. Select a reason to list its candidates."
        )
        return
    group = grouped.iloc[picked[0]]
    found = members(failures, str(group["status"]), str(group["reason"]))
    noun = "candidate" if len(found) == 1 else "candidates"
    st.caption(f"{len(found):,} {noun} failed this way. Select one to open its page.")
    # Keyed by the group, so another reason starts with nothing picked.
    rows = selected_rows(
        st.dataframe(
            found,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key=f"lineage-failures-{run_id}-{picked[0]}",
        )
    )
    if rows and rows[0] < len(found):
        candidate_id = str(found.iloc[rows[0]]["id"])
        st.switch_page(links.CANDIDATE, query_params={"run": run_id, "candidate": candidate_id})


def selected_rows(event: Any) -> list[int]:
    """The rows a table's selection names; none when it names none (or on a page
    drawn without a browser, where the event may be absent)."""
    try:
        # Item access: a selection event is a dict (attribute access too, on a server).
        return [int(row) for row in event["selection"]["rows"]]
    except (AttributeError, KeyError, TypeError, ValueError):
        return []
