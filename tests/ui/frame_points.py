"""One evaluation point as the store hands it to the UI's frames, for tests that build
small runs by hand whose answers are known."""

from __future__ import annotations

from typing import Any


def point(n: int, status: str = "ok", score: float | None = None, **extra: Any) -> dict:
    """The n-th evaluation, a second after the one before; `extra` sets metrics, island,
    kind, code_length, created_at or stage."""
    return {
        "candidate_id": f"c{n}",
        "seq": n,
        "evaluation_seq": n,
        "status": status,
        "score": score,
        "metrics": extra.pop("metrics", {}),
        "reason": "",
        "island": extra.pop("island", 0),
        "generation": 0,
        "parent_id": None,
        "kind": extra.pop("kind", "mutation"),
        "code_length": extra.pop("code_length", 100),
        "duration_s": 0.1,
        "created_at": extra.pop("created_at", f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}+00:00"),
        "stage": extra.pop("stage", None),
    }
