"""Executors dispatch evaluations: here (local) or to workers (Celery, later)."""
