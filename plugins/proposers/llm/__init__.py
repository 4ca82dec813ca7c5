"""The `llm` proposer: children written by language models through litellm.

Registered through the `evoforge` entry-point group like any outside plugin. The
proposer module is imported only when proposers are collected, and litellm only
when a run builds the proposer, so listing tasks stays fast.
"""

from __future__ import annotations

from evoforge.hookspecs import hookimpl


@hookimpl
def evoforge_proposers() -> list[type]:
    """Register the model-backed proposer under the name ``llm``."""
    from evoforge.plugins.proposers.llm.proposer import LLMProposer

    return [LLMProposer]
