"""What an `evaluate` callable may return, and how each accepted shape is read.

Standard library only: this module is imported inside every sandbox process.

Accepted return values, so users can bring evaluators written for other tools:

* an `EvaluationResult` (this class, or OpenEvolve's with `.metrics` and `.artifacts`);
* a dict of metrics (OpenEvolve): the score is `combined_score`, else `score`, else the
  mean of the numeric metrics; an `error` key marks the candidate invalid;
* a number (GEPA `optimize_anything`): the score;
* a `(score, side_info)` tuple (GEPA): side_info, a dict or text, becomes metrics and
  feedback the proposer sees; its `"scores"` dict (GEPA's objectives) becomes metrics.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # `typing` is slow to import, and this module loads per evaluation
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

EVALUATOR_NOT_LOADED = "loading the evaluator"
"""How a failure's reason starts when the evaluator itself could not be imported:
before any candidate code ran, so no proposal can fix it."""

_FIELDS = ("score", "metrics", "feedback", "instance_scores", "artifacts", "valid", "reason")


class EvaluationResult:
    """The native result; every field but `score` is optional.

    A plain class rather than a dataclass: this module loads in every sandbox process,
    and `dataclasses` alone costs milliseconds per evaluation to import.
    """

    def __init__(
        self,
        score: float | None = None,
        metrics: dict[str, Any] | None = None,
        feedback: str = "",
        instance_scores: dict[str, float] | None = None,
        artifacts: dict[str, Any] | None = None,
        valid: bool = True,
        reason: str = "",
    ) -> None:
        self.score = score
        self.metrics = dict(metrics or {})
        self.feedback = feedback
        self.instance_scores = instance_scores
        self.artifacts = dict(artifacts or {})
        self.valid = valid
        self.reason = reason
        # True where the score was read off the metrics (a dict or OpenEvolve result),
        # so a cascade can read it again off every stage's metrics merged.
        self.score_from_metrics = False

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"EvaluationResult({fields})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvaluationResult) and all(
            getattr(self, name) == getattr(other, name) for name in _FIELDS
        )


class ResultShapeError(ValueError):
    """The evaluator returned something none of the accepted shapes matches."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:  # numpy scalars and the like
        return float(value)
    except (TypeError, ValueError):
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, bool)) or value is None:
        return value
    num = _number(value)
    if num is not None and not isinstance(value, (list, tuple, dict)):
        return num
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def score_from_metrics(
    metrics: dict[str, Any], metric: str, excludes: Sequence[str] = ()
) -> float | None:
    """The score a metrics dict stands for: `metric`, `combined_score` or `score`,
    else the mean of the numeric metrics other than `excludes` (OpenEvolve leaves its
    MAP-Elites feature dimensions out), or of all numeric ones if none is left.
    Flags (booleans) and text are not scores, as in OpenEvolve."""
    for key in (metric, "combined_score", "score"):
        if key in metrics:
            return _number(metrics[key])
    numeric = {
        key: number
        for key, value in metrics.items()
        if key != "error"
        and not isinstance(value, (bool, str))
        and (number := _number(value)) is not None
    }
    kept = [number for key, number in numeric.items() if key not in excludes]
    kept = kept or list(numeric.values())
    return sum(kept) / len(kept) if kept else None


def _from_side_info(score: Any, side_info: Any) -> EvaluationResult:
    result = EvaluationResult(score=_number(score))
    if isinstance(side_info, dict):
        text_parts = []
        for key, value in side_info.items():
            num = _number(value) if not isinstance(value, str) else None
            if key == "scores" and isinstance(value, dict):
                # GEPA's multi-objective scores: metrics a strategy can use as objectives.
                numbers = {str(k): _number(v) for k, v in value.items()}
                result.metrics.update({k: v for k, v in numbers.items() if v is not None})
            elif num is not None:
                result.metrics[str(key)] = num
            else:
                text_parts.append(f"{key}: {value}")
        result.feedback = "\n".join(text_parts)
    elif side_info is not None:
        result.feedback = str(side_info)
    return result


def normalize(value: Any, metric: str = "score") -> EvaluationResult:
    """Read any accepted return shape into an `EvaluationResult`."""
    if isinstance(value, EvaluationResult):
        result = value
    elif isinstance(value, dict):
        metrics = dict(value)
        error = metrics.pop("error", None)
        result = EvaluationResult(score=score_from_metrics(metrics, metric), metrics=metrics)
        result.score_from_metrics = True
        if error:
            result.valid, result.reason = False, str(error)
    elif isinstance(value, tuple) and len(value) == 2:
        result = _from_side_info(*value)
    elif hasattr(value, "metrics") and isinstance(getattr(value, "metrics", None), dict):
        metrics = dict(value.metrics)
        error = metrics.pop("error", None)
        result = EvaluationResult(
            score=score_from_metrics(metrics, metric),
            metrics=metrics,
            artifacts=dict(getattr(value, "artifacts", {}) or {}),
        )
        result.score_from_metrics = True
        if error:
            result.valid, result.reason = False, str(error)
    elif _number(value) is not None and not isinstance(value, (str, list)):
        result = EvaluationResult(score=_number(value))
    else:
        raise ResultShapeError(
            f"evaluate returned {type(value).__name__}; return a number, (score, side_info), "
            "a dict of metrics or an EvaluationResult"
        )
    if result.score is not None and not math.isfinite(result.score):
        result.valid = False
        result.reason = result.reason or f"score is not a finite number ({result.score})"
    if result.score is None and result.valid:
        result.valid = False
        result.reason = "evaluate returned no score"
    result.metrics = _jsonable(result.metrics)
    result.artifacts = {str(k): _jsonable(v) for k, v in result.artifacts.items()}
    return result
