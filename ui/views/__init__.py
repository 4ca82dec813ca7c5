"""One Streamlit script per page; `evoforge.ui.app` lists them in the navigation."""
