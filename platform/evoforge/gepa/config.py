"""GEPA's configuration objects, for scripts that build them: what evoforge reads.

GEPA scripts pass `config=GEPAConfig(engine=EngineConfig(max_metric_calls=...),
reflection=ReflectionConfig(reflection_lm="openai/..."))` or, with GEPA's newer API,
`config=OptimizeAnythingConfig(max_evals=...)`. These classes take the same keywords.
The ones evoforge acts on are listed per class; every other keyword is accepted and
kept in `ignored`, so a script runs unchanged and `optimize_anything` can say what it
did not use.

Plain classes, not dataclasses: this module is imported inside the sandbox whenever
a user's script is loaded there to find its evaluator.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class EngineConfig:
    """Read: `max_metric_calls` (evaluations of a whole candidate), `seed`."""

    def __init__(
        self, max_metric_calls: int | None = None, seed: int | None = None, **ignored: Any
    ) -> None:
        self.max_metric_calls = max_metric_calls
        self.seed = seed
        self.ignored = ignored


class ReflectionConfig:
    """Read: `reflection_lm`, a litellm model string (the proposer's model)."""

    def __init__(self, reflection_lm: Any = None, **ignored: Any) -> None:
        self.reflection_lm = reflection_lm
        self.ignored = ignored


class GEPAConfig:
    """Read: `engine` (an EngineConfig) and `reflection` (a ReflectionConfig)."""

    def __init__(
        self,
        engine: EngineConfig | None = None,
        reflection: ReflectionConfig | None = None,
        **ignored: Any,
    ) -> None:
        self.engine = engine or EngineConfig()
        self.reflection = reflection or ReflectionConfig()
        self.ignored = ignored


class OptimizeAnythingConfig:
    """Read: `max_evals`, `name`, `max_token_cost` (USD), `stop_at_score`, `seed`."""

    def __init__(
        self,
        max_evals: int | None = 100,
        name: str | None = None,
        max_token_cost: float | None = None,
        stop_at_score: float | None = None,
        seed: int | None = None,
        **ignored: Any,
    ) -> None:
        self.max_evals = max_evals
        self.name = name
        self.max_token_cost = max_token_cost
        self.stop_at_score = stop_at_score
        self.seed = seed
        self.ignored = ignored


def run_options(config: Any) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """(run options, the model it names or None, the keywords evoforge ignored)."""
    if config is None:
        return {}, None, {}
    if isinstance(config, OptimizeAnythingConfig):
        options = {
            "max_evaluations": config.max_evals,
            "max_cost_usd": config.max_token_cost,
            "target_score": config.stop_at_score,
            "seed": config.seed,
        }
        return options, None, dict(config.ignored)
    if isinstance(config, GEPAConfig):
        engine, reflection = config.engine, config.reflection
        options = {"max_evaluations": engine.max_metric_calls, "seed": engine.seed}
        ignored = {**config.ignored, **engine.ignored, **reflection.ignored}
        model = reflection.reflection_lm
        if model is not None and not isinstance(model, str):
            raise TypeError(
                "reflection_lm must be a litellm model string such as 'openai/gpt-4o-mini' "
                "(evoforge calls the model itself, so a function cannot be used)"
            )
        return options, model, ignored
    raise TypeError(
        f"config must be a GEPAConfig or OptimizeAnythingConfig from "
        f"evoforge.gepa.optimize_anything, not {type(config).__name__}"
    )
