"""The one exception the LLM proposer's answer parsers raise.

A model's answer that cannot be turned into a child is not a crash: the proposer
records it as a rejected proposal, and the reason is shown to the model in later
prompts so it can avoid the same mistake. That is why the reason is a single line
that names the file and block concerned and says what to do differently.
"""

from __future__ import annotations


class EditRejected(ValueError):
    """A model's answer cannot be applied to the parent artifact.

    `reason` is the one-line, human-readable explanation that is stored with the
    rejected proposal and quoted back to the model.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
