"""The Streamlit app: runs, live progress, lineage, candidates, compare and export.

It reads the store and nothing else, read-only (`evoforge.store.open_read_only`), so
it can watch a run another process is writing and can never change one. `evoforge
ui` starts it on loopback; `app.py` is the entry script and `views/` holds one
script per page. The pure data shaping lives in `frames.py` and `lineage_layout.py`
so it can be tested and benchmarked without a browser.
"""
