"""Calling the task model: its configuration from the environment and parallel calls.

The model is chosen per run (`--task-env EVOFORGE_TASK_MODEL=...`), never by the task,
so the same prompt task serves a hosted model or a local OpenAI-compatible server.
The sandbox strips variables whose names look like credentials, so an API key comes
from a file named by `EVOFORGE_TASK_MODEL_KEY_FILE`; without one the key is "none",
which local servers accept.

litellm is imported lazily (it takes seconds) and its own retries are off: the retry
loop here only retries what waiting can heal (rate limits, server errors, dropped
connections), and a failed call is returned as an error string rather than raised, so
one bad call costs one message, not the evaluation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

MODEL_VAR = "EVOFORGE_TASK_MODEL"
API_BASE_VAR = "EVOFORGE_TASK_API_BASE"
KEY_FILE_VAR = "EVOFORGE_TASK_MODEL_KEY_FILE"
RETRIES_VAR = "EVOFORGE_TASK_RETRIES"
TIMEOUT_VAR = "EVOFORGE_TASK_TIMEOUT_S"
WORKERS_VAR = "EVOFORGE_TASK_WORKERS"

TEMPERATURE = 0.0
MAX_TOKENS = 20
DEFAULT_WORKERS = 8
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT_S = 30.0
BACKOFF_S = 1.0


class ConfigError(ValueError):
    """The environment does not say which model to call, or says it unreadably."""


@dataclass(frozen=True)
class ModelConfig:
    model: str
    api_base: str | None
    api_key: str
    retries: int
    timeout_s: float
    workers: int


@dataclass(frozen=True)
class Answer:
    """One call's outcome: the reply text, or the error that replaced it."""

    reply: str | None
    error: str | None
    latency_s: float


def config_from_env(env: Mapping[str, str]) -> ModelConfig:
    """Read the task model's settings; raises `ConfigError` with a one-line fix."""
    model = env.get(MODEL_VAR, "").strip()
    if not model:
        raise ConfigError(
            f"{MODEL_VAR} is not set: choose the task model with "
            f"--task-env {MODEL_VAR}=provider/model (e.g. openai/gpt-4o-mini), and "
            f"--task-env {API_BASE_VAR}=http://... for a local OpenAI-compatible server"
        )
    return ModelConfig(
        model=model,
        api_base=env.get(API_BASE_VAR, "").strip() or None,
        api_key=_api_key(env),
        retries=_number(env, RETRIES_VAR, DEFAULT_RETRIES, int, 0),
        timeout_s=_number(env, TIMEOUT_VAR, DEFAULT_TIMEOUT_S, float, 0.001),
        workers=_number(env, WORKERS_VAR, DEFAULT_WORKERS, int, 1),
    )


def _api_key(env: Mapping[str, str]) -> str:
    path = env.get(KEY_FILE_VAR, "").strip()
    if not path:
        return "none"
    try:
        with open(path, encoding="utf-8") as handle:
            key = handle.read().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the API key file {path} named by {KEY_FILE_VAR}: "
            f"{type(exc).__name__}: {exc.strerror or exc}"
        ) from None
    if not key:
        raise ConfigError(f"the API key file {path} named by {KEY_FILE_VAR} is empty")
    return key


def _number(env: Mapping[str, str], name: str, default: Any, kind: type, least: float) -> Any:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a {kind.__name__}") from None
    if value < least:
        raise ConfigError(f"{name}={text!r} must be at least {least:g}")
    return value


def litellm_module() -> Any:
    """litellm with its network fetches and telemetry off (a repeatable, offline import)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def ask_all(config: ModelConfig, prompt: str, messages: Sequence[str]) -> list[Answer]:
    """Classify every message concurrently; answers come back in the messages' order."""
    litellm = litellm_module()
    retryable = _retryable(litellm)
    workers = max(1, min(config.workers, len(messages)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda text: _ask(litellm, retryable, config, prompt, text), messages))


def _retryable(litellm: Any) -> tuple[type[BaseException], ...]:
    names = (
        "RateLimitError",
        "APIConnectionError",
        "Timeout",
        "InternalServerError",
        "ServiceUnavailableError",
    )
    return tuple(getattr(litellm, name) for name in names if hasattr(litellm, name))


def _ask(
    litellm: Any,
    retryable: tuple[type[BaseException], ...],
    config: ModelConfig,
    prompt: str,
    text: str,
) -> Answer:
    started = time.perf_counter()
    for attempt in range(config.retries + 1):
        try:
            response = litellm.completion(
                model=config.model,
                api_base=config.api_base,
                api_key=config.api_key,
                messages=[
                    {"role": "system", "content": prompt},
                    {"role": "user", "content": text},
                ],
                temperature=TEMPERATURE,
                max_tokens=MAX_TOKENS,
                timeout=config.timeout_s,
                num_retries=0,
                max_retries=0,
            )
        except Exception as exc:  # litellm maps every provider's failures onto its classes
            if isinstance(exc, retryable) and attempt < config.retries:
                time.sleep(BACKOFF_S * 2**attempt)
                continue
            return Answer(None, describe(exc), time.perf_counter() - started)
        choices = getattr(response, "choices", None) or []
        reply = (choices[0].message.content or "") if choices else ""
        return Answer(reply, None, time.perf_counter() - started)
    raise AssertionError("unreachable: the last attempt returns")


def describe(exc: BaseException) -> str:
    """The error in one line, without litellm's repeated class-name prefixes."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    line = line.removeprefix("litellm.")
    while line.startswith(f"{type(exc).__name__}: "):
        line = line.removeprefix(f"{type(exc).__name__}: ")
    return f"{type(exc).__name__}: {line}"[:300]
