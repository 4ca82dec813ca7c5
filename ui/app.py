"""The UI's entry script. `evoforge ui` serves it through `serve.py`, which puts the
gate of `guard.py` (Host check, Content-Security-Policy) in front of every request.

Each page is its own script under `views/` (not `pages/`: Streamlit takes a folder of
that name for its older file-based navigation, which a deep link would then get); the
navigation here is the only place that lists them, with the stable URL paths that
links and bookmarks use.
"""

from __future__ import annotations

import streamlit as st

from evoforge.ui import links

st.set_page_config(page_title="evoforge", layout="wide")

navigation = st.navigation(
    [
        st.Page(links.RUNS, title="Runs", url_path="runs", default=True),
        st.Page(links.RUN, title="Run", url_path="run"),
        st.Page(links.LINEAGE, title="Lineage", url_path="lineage"),
        st.Page(links.CANDIDATE, title="Candidate", url_path="candidate"),
        st.Page(links.PROPOSALS, title="Proposals", url_path="proposals"),
        st.Page(links.COMPARE, title="Compare", url_path="compare"),
        st.Page(links.EXPORT, title="Export", url_path="export"),
    ]
)
navigation.run()
