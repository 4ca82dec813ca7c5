"""`optimize_anything` as GEPA spells it, run on evoforge.

A GEPA script changes its import and nothing else::

    import evoforge.gepa.optimize_anything as oa   # was: import gepa.optimize_anything as oa

    def evaluate(candidate, example):
        oa.log("what went wrong")                  # reaches the proposer as feedback
        return score, {"Feedback": "..."}

    result = oa.optimize_anything(seed_candidate={"system_prompt": "..."},
                                  evaluator=evaluate, dataset=train, valset=val,
                                  objective="...", background="...")
    result.best_candidate, result.best_score, result.run_id

The evaluator runs in the sandbox, so it must be importable there: a function defined
at the top level of a `.py` file, referenced by file and name (a lambda or a closure
is refused with the fix). The sandbox imports that file, and this module's
`optimize_anything` stops the import at the script's own call (`ScriptStopped`), so
functions defined above it are in place and no second run starts.

Imported inside the sandbox too: light at the top, the platform loads in `launch`.
"""

from __future__ import annotations

import sys
import types

from evoforge.gepa.config import (
    EngineConfig,
    GEPAConfig,
    OptimizeAnythingConfig,
    ReflectionConfig,
)
from evoforge.sandboxes.gepa_shim import (
    LogContext,
    OptimizationState,
    ScriptStopped,
    get_log_context,
    in_sandbox,
    log,
    set_log_context,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from evoforge.gepa.launch import OptimizeAnythingResult

__all__ = [
    "EngineConfig",
    "GEPAConfig",
    "LogContext",
    "OptimizationState",
    "OptimizeAnythingConfig",
    "ReflectionConfig",
    "get_log_context",
    "log",
    "optimize_anything",
    "set_log_context",
]


def optimize_anything(
    seed_candidate: str | dict[str, str] | None = None,
    *,
    evaluator: Callable[..., Any] | None = None,
    batch_evaluator: Callable[..., Any] | None = None,
    dataset: list[Any] | None = None,
    valset: list[Any] | None = None,
    objective: str | None = None,
    background: str | None = None,
    test_set: list[Any] | None = None,
    config: Any = None,
    db: str | None = None,
    api_base: str | None = None,
    **options: Any,
) -> OptimizeAnythingResult:
    """Evolve `seed_candidate` against `evaluator` as an evoforge run; GEPA's keywords.

    Beyond GEPA's: `db` (the store; default `$EVOFORGE_DB`, else `.evoforge/` here),
    `api_base` (an OpenAI-compatible server for `reflection_lm`), and any `run_task`
    option (`strategy`, `sandbox`, `proposer_options`, `max_evaluations`, ...), which
    wins over `config`. Without a model the offline proposer is used.
    """
    if in_sandbox():
        raise ScriptStopped  # the sandbox is importing the script for its evaluator
    from evoforge.gepa.launch import launch

    return launch(
        seed_candidate,
        evaluator=evaluator,
        batch_evaluator=batch_evaluator,
        dataset=dataset,
        valset=valset,
        test_set=test_set,
        objective=objective,
        background=background,
        config=config,
        db=db,
        api_base=api_base,
        options=options,
    )


class _CallableModule(types.ModuleType):
    """`from evoforge.gepa import optimize_anything` gives this module; calling it runs
    the function, so both of GEPA's import spellings work."""

    def __call__(self, *args: Any, **kwargs: Any) -> OptimizeAnythingResult:
        return optimize_anything(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
