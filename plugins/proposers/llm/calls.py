"""One call to one model through litellm, recorded whatever happens.

litellm does the HTTP for every provider; this module only decides what a call's
outcome means for the ensemble (retry this model, try the next, or give up on the
run) and turns it into a `ProposerCall` row with tokens, cost (litellm's pricing)
and latency. litellm's own retries are switched off (`num_retries=0`,
`max_retries=0`) so that every attempt is a row of its own: a 429 that cost nothing
still shows up in `show` and the UI.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Literal

from evoforge.plugins.proposers.llm.options import ModelSpec
from evoforge.proposals import ProposerCall

log = logging.getLogger(__name__)

FailureKind = Literal[
    "rate_limit", "server", "connection", "timeout", "auth", "not_found", "bad_request", "other"
]
RETRYABLE: frozenset[str] = frozenset({"rate_limit", "server", "connection"})
"""Worth asking the same model again after a pause."""
CONFIGURATION: frozenset[str] = frozenset({"auth", "not_found"})
"""Will not heal by waiting: a wrong key, model name or api_base."""

_warned_unpriced: set[str] = set()


def litellm_module() -> Any:
    """Import litellm on first use (it takes seconds) with its network fetches off."""
    # The bundled price table: a run must not wait on GitHub, and costs stay repeatable.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


@dataclass
class CallFailure:
    kind: FailureKind
    message: str
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass
class CallResult:
    call: ProposerCall
    text: str | None = None
    failure: CallFailure | None = None


def render_messages(messages: list[dict[str, str]]) -> str:
    """The prompt as stored and shown: each message under its role."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


async def complete(
    spec: ModelSpec,
    messages: list[dict[str, str]],
    *,
    api_key: str | None,
    temperature: float,
    max_tokens: int | None,
    timeout_s: float,
) -> CallResult:
    """Ask one model once; never raises for anything the model or network did."""
    litellm = litellm_module()
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "messages": messages,
        "temperature": spec.temperature if spec.temperature is not None else temperature,
        "timeout": spec.timeout_s or timeout_s,
        "num_retries": 0,
        "max_retries": 0,
        **spec.extra,
    }
    tokens_limit = spec.max_tokens or max_tokens
    if tokens_limit is not None:
        kwargs["max_tokens"] = tokens_limit
    if spec.api_base:
        kwargs["api_base"] = spec.api_base
    if api_key is not None:
        kwargs["api_key"] = api_key
    call = ProposerCall(model=spec.model, prompt=render_messages(messages))
    started = time.perf_counter()
    try:
        response = await litellm.acompletion(**kwargs)
    except Exception as exc:  # litellm maps every provider's errors onto its own classes
        call.latency_s = time.perf_counter() - started
        failure = classify(exc, kwargs["timeout"])
        call.error = failure.message
        return CallResult(call, failure=failure)
    call.latency_s = time.perf_counter() - started
    usage = getattr(response, "usage", None)
    call.tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
    call.tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
    call.cost_usd = cost_of(litellm, spec, response)
    choices = getattr(response, "choices", None) or []
    text = (choices[0].message.content or "") if choices else ""
    call.response = text
    return CallResult(call, text=text)


def cost_of(litellm: Any, spec: ModelSpec, response: Any, call_type: str = "completion") -> float:
    """USD by the spec's own prices, or litellm's price table; 0 for unpriced models.

    Priced here from the usage, and otherwise read from what litellm already worked
    out for the response (`response_cost`): pricing a response again costs a
    millisecond or more per call, paid by every proposal. A model litellm cannot price
    is looked up once, then counts as $0 without asking again.
    """
    if spec.priced:
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        return (
            tokens_in * (spec.input_cost_per_million or 0.0)
            + tokens_out * (spec.output_cost_per_million or 0.0)
        ) / 1e6
    hidden = getattr(response, "_hidden_params", None)
    known = hidden.get("response_cost") if isinstance(hidden, dict) else None
    if isinstance(known, (int, float)) and math.isfinite(known) and known >= 0:
        return float(known)
    if spec.model in _warned_unpriced:
        return 0.0
    try:
        return float(litellm.completion_cost(completion_response=response, call_type=call_type))
    except Exception as exc:
        if spec.model not in _warned_unpriced:
            _warned_unpriced.add(spec.model)
            log.warning(
                "litellm has no price for %s (%s); its calls count as $0. Set "
                "input_cost_per_million and output_cost_per_million for it.",
                spec.model,
                type(exc).__name__,
            )
        return 0.0


def classify(exc: BaseException, timeout_s: float) -> CallFailure:
    """Name what went wrong in one line, and whether waiting could help."""
    litellm = litellm_module()
    status = getattr(exc, "status_code", None)
    detail = _first_line(exc)
    if isinstance(exc, litellm.Timeout):
        return CallFailure("timeout", f"timed out after {timeout_s:g} s")
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        return CallFailure("rate_limit", f"HTTP 429 rate limited: {detail}", _retry_after(exc))
    if isinstance(exc, litellm.AuthenticationError) or status in (401, 403):
        return CallFailure("auth", f"HTTP {status or 401} authentication failed: {detail}")
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return CallFailure("not_found", f"HTTP 404 model or endpoint not found: {detail}")
    if isinstance(exc, litellm.APIConnectionError) or "Connection error" in detail:
        return CallFailure("connection", f"connection failed: {detail}")
    if isinstance(status, int) and status >= 500:
        return CallFailure("server", f"HTTP {status} server error: {detail}", _retry_after(exc))
    if isinstance(exc, litellm.BadRequestError) or status == 400:
        return CallFailure("bad_request", f"HTTP 400 bad request: {detail}")
    return CallFailure("other", f"{type(exc).__name__}: {detail}")


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after")
    except AttributeError:
        return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().removeprefix("litellm.")
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:300]
