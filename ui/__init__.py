"""The Streamlit app that reads the store (see the UI issue)."""
