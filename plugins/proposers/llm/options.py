"""The LLM proposer's options, validated once when a run is created.

They are stored with the run (`config_json`), so nothing secret may be among them:
an API key in the run config is refused with the fix (the environment or `.env`,
optionally named per model by `api_key_env`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evoforge.config import parse_model_entry, parse_weights

Mode = Literal["diff", "full", "crossover"]
MODES: tuple[Mode, ...] = ("diff", "full", "crossover")
DEFAULT_MODE_WEIGHTS: dict[Mode, float] = {"diff": 0.6, "full": 0.3, "crossover": 0.1}

_SECRET_WORDS = ("api_key", "apikey", "secret", "token", "password", "authorization")
_KEY_FIX = (
    "keys are stored nowhere by evoforge: put it in the environment or a .env file "
    "(name the variable per model with api_key_env)"
)


_NOT_SECRETS = frozenset({"api_key_env", "max_tokens"})
"""Option names that contain a secret word but hold none (a variable's name, a count)."""


def _refuse_secrets(data: dict[str, Any], where: str) -> None:
    for key in data:
        lowered = str(key).lower()
        if lowered not in _NOT_SECRETS and any(word in lowered for word in _SECRET_WORDS):
            raise ValueError(f"{where} sets {key!r}, which looks like a credential; {_KEY_FIX}")


class ModelSpec(BaseModel):
    """One model of the ensemble: a litellm model string and how to call it."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="litellm model string, e.g. openai/gpt-4o-mini")
    weight: float = Field(default=1.0, ge=0)
    api_base: str | None = None
    api_key_env: str | None = Field(
        default=None, description="environment variable holding this model's key"
    )
    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, gt=0)
    timeout_s: float | None = Field(default=None, gt=0)
    input_cost_per_million: float | None = Field(
        default=None, ge=0, description="USD per 1M prompt tokens, for models litellm cannot price"
    )
    output_cost_per_million: float | None = Field(default=None, ge=0)
    extra: dict[str, Any] = Field(
        default_factory=dict, description="passed to litellm.acompletion as they are"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """`"openai/gpt-4o-mini"` or `"openai/gpt-4o-mini=0.7"` (the CLI's form)."""
        if isinstance(value, str):
            return parse_model_entry(value)
        if isinstance(value, dict):
            _refuse_secrets(value, f"model {value.get('model', '?')!r}")
            _refuse_secrets(value.get("extra") or {}, f"model {value.get('model', '?')!r} extra")
        return value

    @property
    def priced(self) -> bool:
        return self.input_cost_per_million is not None or self.output_cost_per_million is not None


class NoveltyOptions(BaseModel):
    """Near-duplicate rejection: embed each child and compare it with its relatives."""

    model_config = ConfigDict(extra="forbid")

    embedding_model: str = Field(min_length=1)
    api_base: str | None = None
    api_key_env: str | None = None
    threshold: float = Field(default=0.98, gt=0, le=1, description="cosine at or above: too close")
    max_reasks: int = Field(default=2, ge=0, description="new answers asked for before rejecting")
    memory: int = Field(default=200, gt=0, description="recent children compared against")
    timeout_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, value: Any) -> Any:
        if isinstance(value, dict):
            _refuse_secrets(value, "novelty")
        return value


class LLMOptions(BaseModel):
    """Everything `proposer_options` may hold for the `llm` proposer (docs/proposers.md)."""

    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec] = Field(min_length=1)
    mode_weights: dict[Mode, float] = Field(default_factory=lambda: dict(DEFAULT_MODE_WEIGHTS))
    temperature: float = Field(default=0.7, ge=0)
    max_tokens: int | None = Field(default=8192, gt=0)
    timeout_s: float = Field(default=120.0, gt=0, description="per call")
    retries: int = Field(default=2, ge=0, description="per model: HTTP 429, 5xx, lost connection")
    backoff_s: float = Field(default=1.0, ge=0, description="first retry's wait; doubles")
    max_backoff_s: float = Field(default=30.0, ge=0)
    bandit: bool = Field(default=False, description="UCB: favour models improving most per $")
    bandit_exploration: float = Field(default=1.0, ge=0)
    novelty: NoveltyOptions | None = None
    syntax_check: bool = Field(default=True, description="reject Python children that don't parse")
    inspirations: int = Field(default=3, ge=0, description="inspirations shown in the prompt")
    failures: int = Field(default=3, ge=0, description="recent failed attempts shown")
    feedback_chars: int = Field(default=2000, gt=0, description="evaluator feedback kept per item")
    artifact_chars: int = Field(
        default=20 * 1024,
        ge=0,
        description="the parent's evaluator artifacts shown, in all (OpenEvolve's "
        "max_artifact_bytes; 0 leaves them out)",
    )
    env_file: str | None = Field(default=".env", description="loaded into the environment if found")

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        _refuse_secrets(value, "proposer_options")
        value = dict(value)
        if "model" in value and "models" not in value:
            value["models"] = [value.pop("model")]
        if isinstance(value.get("models"), (str, dict)):
            value["models"] = [value["models"]]
        if isinstance(value.get("mode_weights"), str):
            value["mode_weights"] = parse_weights(value["mode_weights"])
        return value

    @field_validator("mode_weights")
    @classmethod
    def _some_mode(cls, weights: dict[Mode, float]) -> dict[Mode, float]:
        if any(w < 0 for w in weights.values()):
            raise ValueError("mode weights must not be negative")
        if not any(w > 0 for w in weights.values()):
            raise ValueError("give at least one edit mode (diff, full, crossover) a weight > 0")
        return {mode: float(weights.get(mode, 0.0)) for mode in MODES}

    @field_validator("models")
    @classmethod
    def _some_weight(cls, models: list[ModelSpec]) -> list[ModelSpec]:
        if not any(m.weight > 0 for m in models):
            raise ValueError("give at least one model a weight > 0")
        return models
