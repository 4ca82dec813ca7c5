"""Run options, validated once and stored with the run so `resume` needs none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Budget(BaseModel):
    """When a run stops; whichever limit is reached first."""

    model_config = ConfigDict(extra="forbid")

    max_evaluations: int | None = Field(default=100, gt=0)
    max_wall_s: float | None = Field(default=None, gt=0)
    target_score: float | None = None
    patience: int | None = Field(default=None, gt=0)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: str = "islands"
    strategy_options: dict[str, Any] = Field(default_factory=dict)
    proposer: str = "mutate"
    proposer_options: dict[str, Any] = Field(default_factory=dict)
    executor: str = "local"
    executor_options: dict[str, Any] = Field(default_factory=dict)
    sandbox: str = "process"
    sandbox_options: dict[str, Any] = Field(default_factory=dict)
    evaluation_slots: int = Field(default=2, gt=0)
    proposal_slots: int = Field(default=2, gt=0)
    seed: int | None = None
    eval_timeout_s: float | None = Field(default=None, gt=0)
    max_fruitless_proposals: int = Field(
        default=200, gt=0, description="stop when this many proposals in a row add nothing new"
    )
    budget: Budget = Field(default_factory=Budget)


class ConfigError(ValueError):
    """A run config file or option is invalid; the message names the field."""


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML run config into a plain dict of RunConfig fields."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        return tomllib.loads(text)
    import yaml

    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of run options")
    return data


def build_config(base: dict[str, Any], overrides: dict[str, Any]) -> RunConfig:
    """Merge file options with command-line overrides (which win)."""
    merged = {**base}
    budget = {**merged.pop("budget", {})}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in Budget.model_fields:
            budget[key] = value
        else:
            merged[key] = value
    merged["budget"] = budget
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid run option {where}: {first['msg']}") from exc
