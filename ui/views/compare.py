"""Compare: two candidates of a run side by side, their diff and their metrics."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.ui import artifacts, connection, formatting, links, picking


def metrics_table(a: dict[str, Any] | None, b: dict[str, Any] | None) -> pd.DataFrame:
    """Score and every metric of both, with b − a where both are numbers."""
    first = {"score": a["score"], **a["metrics"]} if a else {}
    second = {"score": b["score"], **b["metrics"]} if b else {}
    rows = []
    for name in dict.fromkeys([*first, *second]):
        x, y = first.get(name), second.get(name)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        rows.append(
            {
                "metric": name,
                "A": "–" if x is None else str(x),
                "B": "–" if y is None else str(y),
                "B − A": f"{y - x:+.6g}" if numbers else "",
            }
        )
    return pd.DataFrame(rows, columns=["metric", "A", "B", "B − A"])


repo = connection.repository()
summary = links.choose_run(repo)
run_id = summary["run_id"]
links.run_links(run_id)
st.title("Compare two candidates")
seed = repo.seed_candidate(run_id)
left, right = st.columns(2)
with left:
    first = picking.pick(repo, summary, "A", "a", seed.id if seed else None, "compare_a")
with right:
    second = picking.pick(repo, summary, "B", "b", summary["best_candidate_id"], "compare_b")
if first is None or second is None:
    st.info("This run has no candidates yet.")
    st.stop()

a = repo.candidate_detail(first)
b = repo.candidate_detail(second)
for column, detail, name in ((left, a, "A"), (right, b, "B")):
    evaluation = detail["evaluation"]
    with column:
        status = evaluation["status"] if evaluation else "pending"
        score = formatting.score(evaluation["score"]) if evaluation else "–"
        st.markdown(f"**{name}: #{detail['candidate']['seq']}** · {status} · score {score}")
        links.candidate_link(run_id, detail["candidate"]["id"], "open")

st.subheader("Metrics")
st.dataframe(metrics_table(a["evaluation"], b["evaluation"]), hide_index=True)
st.subheader("Diff A → B")
text = artifacts.diff(a["candidate"]["files"], b["candidate"]["files"], "A", "B")
if text:
    added, removed = artifacts.changed_lines(text)
    st.caption(f"+{added} −{removed} lines")
    st.code(text, language="diff")
else:
    st.caption("The two artifacts are identical.")
st.subheader("Side by side")
names = sorted(set(a["candidate"]["files"]) | set(b["candidate"]["files"]))
for name in names:
    one, two = st.columns(2)
    for column, detail in ((one, a), (two, b)):
        with column:
            st.markdown(f"**{name}**")
            content = detail["candidate"]["files"].get(name)
            if content is None:
                st.caption("(no such file)")
            else:
                st.code(content, language=artifacts.language(name), line_numbers=True)
