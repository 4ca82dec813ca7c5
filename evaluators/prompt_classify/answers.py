"""Reading a model's reply as a label.

Models decorate answers ("Billing.", "**bug**", "account\nBecause ..."), and a
decoration is not a wrong class, so the reply is reduced to its first word before the
exact match. Anything more lenient (synonyms, "feature request" for
`feature_request`) is left to the prompt: teaching the answer format is part of
what the evolved prompt must do.
"""

from __future__ import annotations

import string

_PUNCTUATION = string.punctuation + "\u201c\u201d\u2018\u2019\u00ab\u00bb"


def normalise(reply: str) -> str:
    """The first word of the first non-empty line, lower-cased, punctuation stripped."""
    for line in reply.strip().splitlines():
        words = line.split()
        if words:
            return words[0].strip(_PUNCTUATION).lower()
    return ""
