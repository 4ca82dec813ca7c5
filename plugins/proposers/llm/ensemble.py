"""Several models behind one `ask`: weighted choice, fallback, retries with backoff.

litellm's Router does load balancing too, but here every attempt must become a row
of its own (a 429 that cost nothing still belongs in the run's history), the choice
must follow the run's seeded random generator so `--seed` reproduces a run, and the
bandit must be able to re-weight models between calls. So the policy is this small
module and every HTTP request still goes through `litellm.acompletion`.

Per proposal: the first model is drawn by weight (or by the bandit); the others
follow by descending weight as fallbacks (a model of weight 0 is a fallback only).
A model is asked again after a backoff (`backoff_s`, doubling, or the server's
Retry-After, capped at `max_backoff_s`) when it is rate limited, returns a 5xx or
drops the connection, up to `retries` times; a timeout, a refused key or an unknown
model moves on to the next model at once.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from evoforge.plugins.proposers.llm.bandit import ModelBandit
from evoforge.plugins.proposers.llm.calls import CONFIGURATION, CallResult, complete
from evoforge.plugins.proposers.llm.options import LLMOptions, ModelSpec
from evoforge.proposals import ProposerCall


@dataclass
class Answer:
    text: str
    model: str
    calls: list[ProposerCall] = field(default_factory=list)


class AllModelsFailed(Exception):
    """No model answered. `configuration` is True when every failure was a refused key
    or an unknown model/endpoint: waiting will not help, the run should stop."""

    def __init__(self, reason: str, calls: list[ProposerCall], configuration: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.calls = calls
        self.configuration = configuration


class ModelEnsemble:
    def __init__(
        self,
        options: LLMOptions,
        keys: dict[int, str | None],
        bandit: ModelBandit | None = None,
    ) -> None:
        self.options = options
        self.models = options.models
        self.keys = keys
        self.bandit = bandit

    def order(self, rng: random.Random) -> list[int]:
        """Indices of the models to try, first choice first."""
        weights = {i: spec.weight for i, spec in enumerate(self.models)}
        live = [i for i, w in weights.items() if w > 0]
        if self.bandit is not None:
            by_name = {self.models[i].model: w for i, w in weights.items() if w > 0}
            chosen_name = self.bandit.choose(by_name, rng)
            first = next(i for i in live if self.models[i].model == chosen_name)
        else:
            first = rng.choices(live, weights=[weights[i] for i in live], k=1)[0]
        # Every other model is a fallback, weight 0 included ("only when others fail").
        rest = sorted((i for i in weights if i != first), key=lambda i: (-weights[i], i))
        return [first, *rest]

    async def ask(self, messages: list[dict[str, str]], rng: random.Random) -> Answer:
        """The first model's answer that arrives, or `AllModelsFailed` with every attempt."""
        calls: list[ProposerCall] = []
        failures: list[str] = []
        configuration = True
        for index in self.order(rng):
            spec = self.models[index]
            result = await self._ask_one(spec, index, messages, rng, calls)
            if result.failure is None:
                return Answer(result.text or "", spec.model, calls)
            failures.append(f"{spec.model}: {result.failure.message}")
            configuration = configuration and result.failure.kind in CONFIGURATION
        reason = "no model answered (" + "; ".join(failures) + ")"
        raise AllModelsFailed(reason, calls, configuration)

    async def _ask_one(
        self,
        spec: ModelSpec,
        index: int,
        messages: list[dict[str, str]],
        rng: random.Random,
        calls: list[ProposerCall],
    ) -> CallResult:
        opts = self.options
        attempt = 0
        while True:
            result = await complete(
                spec,
                messages,
                api_key=self.keys.get(index),
                temperature=opts.temperature,
                max_tokens=opts.max_tokens,
                timeout_s=opts.timeout_s,
            )
            calls.append(result.call)
            failure = result.failure
            if failure is None or not failure.retryable or attempt >= opts.retries:
                return result
            wait = failure.retry_after_s
            if wait is None:
                wait = opts.backoff_s * (2**attempt) * (1.0 + 0.25 * rng.random())
            await asyncio.sleep(min(wait, opts.max_backoff_s))
            attempt += 1
