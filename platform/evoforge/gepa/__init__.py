"""GEPA's `optimize_anything` on evoforge: change the import, keep the script.

    import evoforge.gepa.optimize_anything as oa          # was: import gepa.optimize_anything as oa
    from evoforge.gepa import optimize_anything           # callable, as GEPA's function

The layout mirrors gepa's (`gepa.optimize_anything` is both a module holding `log`,
`GEPAConfig`, ... and the function). This package is imported inside the sandbox
too, wherever a user's script is loaded to find its evaluator, so it stays light:
the platform (pydantic, the store) loads only when a run starts.
"""

from __future__ import annotations

from evoforge.gepa import optimize_anything

__all__ = ["optimize_anything"]
