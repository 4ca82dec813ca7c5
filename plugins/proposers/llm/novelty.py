"""Near-duplicate rejection: a child too close to a relative is asked for again.

Exact duplicates never reach an evaluator (the store's content hash sees to that),
but models often return a variant that differs only in a comment or a name. With
`novelty` configured, each child's evolvable text is embedded with a litellm
embedding model and compared (cosine) with its parent, the inspirations in its
prompt and the most recent children; at or above `threshold` the proposer asks the
model again, telling it so, up to `max_reasks` times, then rejects the proposal.

Embeddings are cached by content hash for the life of the proposer, and every
embedding call is recorded and costed like a completion.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from evoforge.plugins.proposers.llm.calls import classify, cost_of, litellm_module
from evoforge.plugins.proposers.llm.options import ModelSpec, NoveltyOptions
from evoforge.plugins.proposers.llm.prompts import evolvable_text
from evoforge.proposals import ProposerCall
from evoforge.task import content_hash


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def evolvable(files: dict[str, str]) -> str:
    """What novelty is judged on: the evolve blocks, not the frozen scaffolding."""
    return "\n".join(f"{name}\n{evolvable_text(name, files[name])}" for name in sorted(files))


@dataclass
class Nearest:
    candidate: str  # a label: the relative's id, or "an earlier child"
    similarity: float


class NoveltyUnavailable(Exception):
    """The embedding call failed; the proposal goes on without the check."""

    def __init__(self, call: ProposerCall) -> None:
        super().__init__(call.error)
        self.call = call


class NoveltyFilter:
    def __init__(self, options: NoveltyOptions, api_key: str | None) -> None:
        self.options = options
        self.api_key = api_key
        self.spec = ModelSpec(model=options.embedding_model, api_base=options.api_base)
        self.cache: OrderedDict[str, list[float]] = OrderedDict()
        self.recent: OrderedDict[str, str] = OrderedDict()  # hash -> label

    async def nearest(
        self, child: dict[str, str], relatives: dict[str, dict[str, str]]
    ) -> tuple[Nearest | None, list[ProposerCall]]:
        """The most similar relative (by label) or recent child, with the calls made."""
        child_hash = content_hash(child)
        texts = {child_hash: evolvable(child)}
        labels: dict[str, str] = {}
        for label, files in relatives.items():
            digest = content_hash(files)
            labels[digest] = label
            texts.setdefault(digest, evolvable(files))
        for digest, label in self.recent.items():
            labels.setdefault(digest, label)
        calls = await self._embed({d: t for d, t in texts.items() if d not in self.cache})
        mine = self.cache[child_hash]
        best: Nearest | None = None
        for digest, label in labels.items():
            if digest == child_hash or digest not in self.cache:
                continue
            similarity = cosine(mine, self.cache[digest])
            if best is None or similarity > best.similarity:
                best = Nearest(label, similarity)
        return best, calls

    def too_close(self, nearest: Nearest | None) -> bool:
        return nearest is not None and nearest.similarity >= self.options.threshold

    def remember(self, child: dict[str, str], label: str) -> None:
        """Keep an accepted child for comparison with later ones (bounded memory)."""
        digest = content_hash(child)
        self.recent[digest] = label
        self.recent.move_to_end(digest)
        while len(self.recent) > self.options.memory:
            old, _ = self.recent.popitem(last=False)
            self.cache.pop(old, None)

    async def _embed(self, texts: dict[str, str]) -> list[ProposerCall]:
        if not texts:
            return []
        litellm = litellm_module()
        digests = list(texts)
        call = ProposerCall(model=self.options.embedding_model, prompt="[embedding]")
        kwargs: dict = {
            "model": self.options.embedding_model,
            "input": [texts[d] for d in digests],
            "timeout": self.options.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        if self.options.api_base:
            kwargs["api_base"] = self.options.api_base
        if self.api_key is not None:
            kwargs["api_key"] = self.api_key
        started = time.perf_counter()
        try:
            response = await litellm.aembedding(**kwargs)
        except Exception as exc:
            call.latency_s = time.perf_counter() - started
            call.error = "embedding " + classify(exc, self.options.timeout_s).message
            raise NoveltyUnavailable(call) from None
        call.latency_s = time.perf_counter() - started
        usage = getattr(response, "usage", None)
        call.tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        call.cost_usd = cost_of(litellm, self.spec, response, call_type="aembedding")
        call.response = f"{len(digests)} embedding(s)"
        for item in response.data:
            index = item["index"] if isinstance(item, dict) else item.index
            vector = item["embedding"] if isinstance(item, dict) else item.embedding
            self.cache[digests[index]] = [float(x) for x in vector]
        while len(self.cache) > 4 * self.options.memory:  # parents and inspirations pile up
            oldest = next(d for d in self.cache if d not in self.recent)
            del self.cache[oldest]
        return [call]
