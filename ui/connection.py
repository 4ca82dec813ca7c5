"""Which store the UI reads, opened read-only once per server process.

`evoforge ui --db URL` hands the URL over in `EVOFORGE_UI_DB` rather than on the
command line, so it does not show in `ps` with its password. A store that does not
exist yet is the normal first-run state, not an error: every page then shows how to
make one.
"""

from __future__ import annotations

import os

import streamlit as st

from evoforge.store import Database, NoDatabase, Repository, StoreError, open_read_only
from evoforge.store.database import default_database_path
from evoforge.ui import formatting

DB_ENV = "EVOFORGE_UI_DB"


def database_url() -> str | None:
    return os.environ.get(DB_ENV) or None


def shown_url(url: str | None) -> str:
    """The URL as it may be printed: passwords hidden, the default spelled out."""
    if url is None:
        return f"sqlite:///{default_database_path()}"
    try:
        from sqlalchemy import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: open_read_only says so in its own message
        return "(the --db given)"


@st.cache_resource(show_spinner=False)
def _open(url: str | None) -> Database:
    # Failures are not cached: once a first run creates the store, a reload finds it.
    return open_read_only(url)


def repository() -> Repository:
    """The store's repository, or a first-run or error page and the end of the script."""
    return Repository(database())


def database() -> Database:
    """The open store, or a first-run or error page and the end of the script."""
    url = database_url()
    try:
        return _open(url)
    except NoDatabase:
        first_run_page(url)
    except StoreError as exc:
        st.error(formatting.literal(str(exc)))
    st.stop()
    raise AssertionError("st.stop() returns only in bare mode")  # pragma: no cover


def first_run_page(url: str | None) -> None:
    """What a new user sees before any run: where the UI looks and how to fill it."""
    st.title("No runs yet")
    st.write(
        f"evoforge looks for runs in `{shown_url(url)}`, and there are none there yet. "
        "Start one in a terminal; this page shows it as soon as it has begun."
    )
    st.code(
        "evoforge run circle_packing --max-evaluations 200\n"
        "evoforge tasks            # every task you can run",
        language="bash",
    )
    st.write(
        "Runs stored elsewhere? Start the UI on that store: "
        "`evoforge ui --db sqlite:///path/to/evoforge.db` (or a PostgreSQL URL)."
    )
