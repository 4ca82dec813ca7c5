"""The slips in a model's answer that the parsers forgive, and how each is named.

Models restate text imperfectly in two ways that never change what an edit means:
they answer with CRLF line ends (or meet a CRLF file with LF ones), and they drop or
add spaces at the ends of lines. The parsers forgive exactly these, and only when
the match they lead to is unique. Each forgiven slip is named in the proposal's row
(`proposals.leniency`), so a user can see how often a model needed the benefit of
the doubt, and a reviewer can tell a clean edit from a forgiven one.
"""

from __future__ import annotations

CRLF = "crlf"
"""CRLF line ends in the answer, or LF lines matched against a CRLF file."""

TRAILING_WHITESPACE = "trailing_whitespace"
"""Lines that differ from the file only in spaces or tabs at their ends."""

Forgiven = set[str]
"""The names above that applied to one answer; the parsers add to it."""


def describe(forgiven: Forgiven) -> str:
    """The stored form: the names in a stable order, comma separated ("" for none)."""
    return ",".join(sorted(forgiven))
