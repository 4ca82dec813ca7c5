"""OpenEvolve's `config.yaml`, read as what it means in evoforge.

An OpenEvolve user's folder carries a config that already says how long to search,
which models to ask and how to split the population. Each key with an evoforge
meaning becomes a task field or a run option; every other key is listed, so the run
can say once what it ignored instead of silently doing something else.

Precedence, as a user expects: the folder's `config.yaml` < the file given with
`--config` (an OpenEvolve YAML, e.g. `config_phase_1.yaml`, replaces the folder's) <
command-line flags. Model settings apply when the run uses the `llm` proposer (ask
for it with `--proposer llm` or `--model`); a run with no model keeps the offline
proposer, so a folder never calls a paid API by surprise.

API keys are never read from the file: `api_key: ${NAME}` names the environment
variable the key comes from (as OpenEvolve resolves it); a literal key is ignored
and the run says so, without printing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPENEVOLVE_KEYS = frozenset(
    {"max_iterations", "random_seed", "llm", "prompt", "database", "evaluator",
     "diff_based_evolution", "allow_full_rewrites", "max_code_length", "checkpoint_interval",
     "log_level", "log_dir", "language", "file_suffix", "evolution_trace", "diff_pattern",
     "early_stopping_patience", "convergence_threshold", "early_stopping_metric",
     "max_tasks_per_child"}
)  # fmt: skip
"""OpenEvolve's top-level keys: a YAML holding any of them is an OpenEvolve config."""

BUILT_IN_FEATURES = frozenset({"complexity", "diversity", "score"})
"""OpenEvolve computes these MAP-Elites dimensions itself; evoforge's own default
(code length) stands in for them."""

FULL_REWRITE_SHARE = 0.25
"""With `allow_full_rewrites`, the share of proposals that are whole-file rewrites."""

_ENV_REFERENCE = re.compile(r"^\$\{(\w+)\}$")


@dataclass
class OpenEvolveSettings:
    """What a config means here: task fields, run options, and the keys ignored."""

    task: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)
    """The llm proposer's options; used only by a run that asks for that proposer."""
    ignored: list[str] = field(default_factory=list)


def is_openevolve_config(data: dict[str, Any]) -> bool:
    return any(key in OPENEVOLVE_KEYS for key in data)


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file; ValueError with the fix when it is not one."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc}); fix the syntax") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must hold a mapping of OpenEvolve settings")
    return data


def read_settings(data: dict[str, Any]) -> OpenEvolveSettings:
    """Translate one OpenEvolve config mapping; nothing in it is lost unreported."""
    settings = OpenEvolveSettings()
    reader = _Reader(data, settings)
    reader.top_level()
    reader.prompt(_section(data, "prompt"))
    reader.database(_section(data, "database"))
    reader.evaluator(_section(data, "evaluator"))
    reader.models(_section(data, "llm"))
    return settings


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


class _Reader:
    """Walks the config once, marking each key it maps; the rest are `ignored`."""

    def __init__(self, data: dict[str, Any], settings: OpenEvolveSettings) -> None:
        self.data = data
        self.out = settings

    def _ignore_rest(self, section: dict[str, Any], prefix: str, used: set[str]) -> None:
        for key in section:
            if key not in used:
                self.out.ignored.append(f"{prefix}{key}")

    def _budget(self, key: str, value: Any) -> None:
        self.out.run.setdefault("budget", {})[key] = value

    def _strategy(self, key: str, value: Any) -> None:
        self.out.run.setdefault("strategy_options", {})[key] = value

    def top_level(self) -> None:
        data, run = self.data, self.out.run
        used = {"llm", "prompt", "database", "evaluator"}
        if data.get("max_iterations") is not None:
            # OpenEvolve evaluates the seed, then one child per iteration.
            self._budget("max_evaluations", int(data["max_iterations"]) + 1)
            used.add("max_iterations")
        if data.get("random_seed") is not None:
            run["seed"] = int(data["random_seed"])
            used.add("random_seed")
        if data.get("early_stopping_patience") is not None:
            self._budget("patience", int(data["early_stopping_patience"]))
            used.add("early_stopping_patience")
        if data.get("max_code_length") is not None:
            run["max_code_length"] = int(data["max_code_length"])
            used.add("max_code_length")
        if "diff_based_evolution" in data or "allow_full_rewrites" in data:
            diffs = data.get("diff_based_evolution", True) is not False
            rewrites = bool(data.get("allow_full_rewrites", False))
            if not diffs:
                weights = {"full": 1.0}
            elif rewrites:
                weights = {"diff": 1 - FULL_REWRITE_SHARE, "full": FULL_REWRITE_SHARE}
            else:
                weights = {"diff": 1.0}
            self.out.llm["mode_weights"] = weights
            used |= {"diff_based_evolution", "allow_full_rewrites"}
        self._ignore_rest(data, "", used)

    def prompt(self, section: dict[str, Any]) -> None:
        used = set()
        if section.get("system_message"):
            self.out.task["objective"] = str(section["system_message"])
            used.add("system_message")
        if section.get("num_top_programs") is not None:
            self.out.llm["inspirations"] = int(section["num_top_programs"])
            used.add("num_top_programs")
        self._ignore_rest(section, "prompt.", used)

    def database(self, section: dict[str, Any]) -> None:
        direct = {
            "num_islands": "islands",
            "migration_interval": "migration_interval",
            "migration_rate": "migration_rate",
            "population_size": "population_size",
            "archive_size": "archive_size",
            "exploration_ratio": "exploration",
            "exploitation_ratio": "exploitation",
        }
        used = set()
        for key, option in direct.items():
            if section.get(key) is not None:
                self._strategy(option, section[key])
                used.add(key)
        if isinstance(section.get("feature_bins"), int):
            self._strategy("feature_bins", section["feature_bins"])
            used.add("feature_bins")
        if section.get("random_seed") is not None and "seed" not in self.out.run:
            self.out.run["seed"] = int(section["random_seed"])
            used.add("random_seed")
        dimensions = section.get("feature_dimensions", ["complexity", "diversity"])
        if isinstance(dimensions, list):
            names = [str(d) for d in dimensions]
            # Never averaged into a fitness, as in OpenEvolve; custom ones are the
            # islands' MAP-Elites features.
            self.out.task["score_excludes"] = names
            custom = [name for name in names if name not in BUILT_IN_FEATURES]
            if custom:
                self.out.task["features"] = custom
            used.add("feature_dimensions")
        self._ignore_rest(section, "database.", used)

    def evaluator(self, section: dict[str, Any]) -> None:
        used = {"cascade_evaluation", "cascade_thresholds"} & set(section)  # the loader's
        if section.get("timeout") is not None:
            self.out.task["timeout_s"] = float(section["timeout"])
            used.add("timeout")
        if section.get("parallel_evaluations") is not None:
            self.out.run["evaluation_slots"] = int(section["parallel_evaluations"])
            used.add("parallel_evaluations")
        self._ignore_rest(section, "evaluator.", used)

    def models(self, section: dict[str, Any]) -> None:
        shared = {
            "api_base": section.get("api_base"),
            "api_key_env": self._key_variable(section.get("api_key"), "llm.api_key"),
        }
        used = {"api_base", "api_key"} & set(section)
        entries = []
        for index, entry in enumerate(section.get("models") or []):
            if isinstance(entry, dict) and entry.get("name"):
                entries.append(self._model(entry, shared, f"llm.models[{index}]."))
        for role, default_weight in (("primary", 1.0), ("secondary", 0.2)):
            name = section.get(f"{role}_model")
            weight = section.get(f"{role}_model_weight")
            used |= {f"{role}_model", f"{role}_model_weight"} & set(section)
            if name and (weight is None or weight > 0):
                entry = {"name": name, "weight": default_weight if weight is None else weight}
                entries.append(self._model(entry, shared, ""))
        if "models" in section:
            used.add("models")
        if entries:
            self.out.llm["models"] = entries
        options = {"temperature": "temperature", "max_tokens": "max_tokens",
                   "timeout": "timeout_s", "retries": "retries"}  # fmt: skip
        for key, option in options.items():
            if section.get(key) is not None:
                self.out.llm[option] = section[key]
                used.add(key)
        self._ignore_rest(section, "llm.", used)

    def _model(self, entry: dict[str, Any], shared: dict[str, Any], prefix: str) -> dict[str, Any]:
        """One model for litellm: OpenEvolve talks to every model through an
        OpenAI-compatible endpoint, so the name goes to litellm's `openai/` route."""
        spec: dict[str, Any] = {"model": f"openai/{entry['name']}"}
        if entry.get("weight") is not None:
            spec["weight"] = float(entry["weight"])
        api_base = entry.get("api_base") or shared["api_base"]
        if api_base:
            spec["api_base"] = str(api_base)
        key_env = (
            self._key_variable(entry.get("api_key"), f"{prefix}api_key") or shared["api_key_env"]
        )
        if key_env:
            spec["api_key_env"] = key_env
        used = {"name", "weight", "api_base", "api_key"}
        if prefix:
            self._ignore_rest(entry, prefix, used)
        return spec

    def _key_variable(self, value: Any, where: str) -> str | None:
        """`${NAME}`: the variable the key comes from. A literal key is never kept."""
        if value is None:
            return None
        found = _ENV_REFERENCE.match(str(value))
        if found:
            return found.group(1)
        self.out.ignored.append(f"{where} (a literal key: keys come from the environment)")
        return None
