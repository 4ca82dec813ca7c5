"""What `evoforge ui` runs: the app (`app.py`) behind the gate of `guard.py`.

`streamlit run` finds the `st.App` below and serves it with its own server, the
gate in front of every route (Streamlit's documented way to add ASGI middleware), so
no request reaches a page, an asset or the websocket without its Host checked, and
none leaves without the Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from evoforge.ui.guard import HostAndPolicy

app = st.App(Path(__file__).resolve().parent / "app.py", middleware=[Middleware(HostAndPolicy)])
