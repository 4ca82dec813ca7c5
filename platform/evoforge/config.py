"""Run options, validated once and stored with the run so `resume` needs none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evoforge.executors.gpu_slots import parse_gpus


class Budget(BaseModel):
    """When a run stops; whichever limit is reached first."""

    model_config = ConfigDict(extra="forbid")

    max_evaluations: int | None = Field(default=100, gt=0)
    max_wall_s: float | None = Field(default=None, gt=0)
    target_score: float | None = None
    patience: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(
        default=None, gt=0, description="stop when proposer calls have cost this many USD"
    )


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
    proposal_slots: int | Literal["auto"] = Field(
        default="auto",
        description="proposals in flight: a number, or `auto` to follow the measured model "
        "latency and evaluation time (evoforge.orchestrator.pacing)",
    )
    max_proposal_slots: int = Field(
        default=16, gt=0, description="the most proposals `auto` keeps in flight"
    )
    seed: int | None = None
    objective: str | None = Field(
        default=None,
        description="which of the task's objectives to judge by (default: the "
        "first one this machine can run)",
    )
    eval_timeout_s: float | None = Field(default=None, gt=0)
    max_fruitless_proposals: int = Field(
        default=200, gt=0, description="stop when this many proposals in a row add nothing new"
    )
    task_env: dict[str, str] = Field(
        default_factory=dict,
        description="environment for the task's evaluator, over the task's own (e.g. the "
        "model a prompt task calls); names that look like credentials never reach it",
    )
    select_on: Literal["train", "validation"] = Field(
        default="train",
        description="which score picks the run's exported best where the task has a "
        "validation split",
    )
    public: bool | None = Field(
        default=None,
        description="score the task's public protocol (the public benchmark's instances "
        "and rules) at the end, like the test split, for the seed and the best candidates: "
        "true requires it, false skips it, unset scores it where the task has one and its "
        "public data is found",
    )
    train_on: str = Field(
        default="own",
        pattern=r"^(own|public(:[a-z0-9_]+)?)$",
        description="`public` (or `public:NAME` for a task's further protocol) judges the "
        "search itself on the task's public protocol, as published results are evolved "
        "(the task's own splits are set aside)",
    )
    keep_going: bool = Field(
        default=False,
        description="search on even when the seed's evaluation fails in a way no proposal "
        "can fix (a missing module, an evaluator that cannot load, a timeout)",
    )
    max_code_length: int | None = Field(
        default=None,
        gt=0,
        description="refuse a proposed child whose files hold more characters than this "
        "(OpenEvolve's max_code_length)",
    )
    validate_top: int = Field(
        default=5,
        gt=0,
        description="at the end of a run, this many top candidates by training score (and "
        "the seed) are scored on the validation split",
    )
    budget: Budget = Field(default_factory=Budget)

    @field_validator("proposal_slots")
    @classmethod
    def _positive_slots(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("proposal_slots must be at least 1, or 'auto'")
        return value

    @field_validator("executor_options")
    @classmethod
    def _gpu_ids(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Store `gpus` as a list of ids, so a typo fails now rather than at the first
        evaluation; absent (or null) means the executor discovers the machine's GPUs."""
        if options.get("gpus") is None:
            return options
        return {**options, "gpus": parse_gpus(options["gpus"])}


class ConfigError(ValueError):
    """A run config file or option is invalid; the message names the field."""


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML run config into a plain dict of RunConfig fields.

    An OpenEvolve config (`config_phase_1.yaml`) is translated
    (`evoforge.layouts.openevolve_config`): its run options, with its model settings
    under `_openevolve` for `layer_task_defaults`, which uses them for an llm run.
    """
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
    from evoforge.layouts.openevolve_config import is_openevolve_config, read_settings

    if is_openevolve_config(data):
        settings = read_settings(data)
        return {**settings.run, OPENEVOLVE_KEY: {"llm": settings.llm, "path": str(path)}}
    return data


OPENEVOLVE_KEY = "_openevolve"
"""Where `load_config_file` keeps what an OpenEvolve config says beyond run options."""


def _deep_merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    merged = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def layer_task_defaults(
    defaults: dict[str, Any], base: dict[str, Any], proposer: str | None = None
) -> dict[str, Any]:
    """The run options: a task folder's own settings (`Task.run_defaults`) under the
    config file's `base` (flags go over both, in `build_config`).

    Model settings, from the folder or an OpenEvolve `--config`, are used only when the
    run's proposer is `llm` (`proposer` is the one a flag chose, if any): a folder never
    switches a run to a paid model by itself.
    """
    file_part = dict(base)
    openevolve = file_part.pop(OPENEVOLVE_KEY, {})
    merged = _deep_merge(defaults.get("run", {}), file_part)
    llm = _deep_merge(defaults.get("llm", {}), openevolve.get("llm", {}))
    if llm and (proposer or merged.get("proposer")) == "llm":
        merged["proposer_options"] = _deep_merge(llm, merged.get("proposer_options") or {})
    return merged


def build_config(base: dict[str, Any], overrides: dict[str, Any]) -> RunConfig:
    """Merge file options with command-line overrides (which win).

    `gpus` and `broker` are executor options, taken at the top level because users set
    them per machine or cluster (`--gpus`, `--broker`, `run_task(gpus=[0])`); a broker
    selects the celery executor unless another is named, as `--model` selects the llm
    proposer.
    """
    merged = {**base}
    budget = {**merged.pop("budget", {})}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in Budget.model_fields:
            budget[key] = value
        elif key in ("gpus", "broker"):
            merged["executor_options"] = {**(merged.get("executor_options") or {}), key: value}
            if key == "broker" and overrides.get("executor") is None:
                merged.setdefault("executor", "celery")
        else:
            merged[key] = value
    merged["budget"] = budget
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid run option {where}: {first['msg']}") from exc


def gpu_option(text: str | None) -> list[int] | None:
    """`--gpus 0,1` as GPU ids; empty or `none` is no GPUs; not given (None) is discovery."""
    if text is None:
        return None
    try:
        return parse_gpus(text)
    except ValueError as exc:
        raise ConfigError(f"--gpus {text!r}: {exc}") from None


def model_proposer_options(
    base: dict[str, Any],
    *,
    proposer: str | None,
    models: list[str] | None = None,
    api_base: str | None = None,
    mode_weights: str | None = None,
    temperature: float | None = None,
) -> dict[str, Any]:
    """Fold the CLI's model flags into the run options (a copy of `base`).

    `--model` (repeatable, `MODEL[=WEIGHT]`) replaces the config file's models and
    selects the `llm` proposer; `--api-base` applies to the models that have none.
    """
    merged = {**base}
    options = dict(merged.get("proposer_options") or {})
    chosen = proposer or merged.get("proposer")
    if models:
        if chosen not in (None, "llm"):
            raise ConfigError(f"--model needs the llm proposer, not {chosen!r}; drop --proposer")
        chosen = "llm"
        options["models"] = [parse_model_entry(text) for text in models]
        options.pop("model", None)
    given = {
        "--api-base": api_base,
        "--mode-weights": mode_weights,
        "--temperature": temperature,
    }
    used = [flag for flag, value in given.items() if value is not None]
    if used and chosen != "llm":
        raise ConfigError(
            f"{', '.join(used)} configure(s) the llm proposer; add --model MODEL "
            '(or proposer = "llm" in the config file)'
        )
    if api_base is not None:
        entries = options.get("models") or []
        options["models"] = [
            {**entry, "api_base": entry.get("api_base") or api_base}
            for entry in (e if isinstance(e, dict) else parse_model_entry(e) for e in entries)
        ]
    if mode_weights is not None:
        options["mode_weights"] = parse_weights(mode_weights)
    if temperature is not None:
        options["temperature"] = temperature
    if chosen is not None:
        merged["proposer"] = chosen
    if options:
        merged["proposer_options"] = options
    return merged


def parse_model_entry(text: str) -> dict[str, Any]:
    """`MODEL` or `MODEL=WEIGHT` (the CLI's form, also accepted in config files)."""
    name, sep, weight = text.rpartition("=")
    if sep and name:
        try:
            return {"model": name, "weight": float(weight)}
        except ValueError:
            pass
    return {"model": text}


def parse_weights(text: str) -> dict[str, float]:
    """`"diff=0.6,full=0.3,crossover=0.1"` as a dict."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, number = part.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[name.strip()] = float(number)
        except ValueError:
            raise ConfigError(f"weight {part!r} must look like name=0.6") from None
    return weights


def parse_assignments(items: list[str] | None, option: str) -> dict[str, str] | None:
    """`["NAME=VALUE", ...]` from a repeatable option; None when it was not given."""
    if not items:
        return None
    parsed: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{option} {item!r}: write NAME=VALUE")
        parsed[name.strip()] = value
    return parsed
