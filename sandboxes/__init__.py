"""Sandbox backends and the in-sandbox harness."""
