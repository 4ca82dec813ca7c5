"""Everything a rendered AppTest page would show, as one string to search, and the
page links it offers."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest


def page_text(app: AppTest) -> str:
    found: list[str] = []
    _walk(app._tree, found)
    return "\n".join(found)


def _walk(node: Any, found: list[str]) -> None:
    for name in ("value", "label", "body"):
        value = getattr(node, name, None)
        if value is not None and not callable(value):
            found.append(str(value))
    proto = getattr(node, "proto", None)
    if proto is not None:
        found.append(str(proto))
    for child in getattr(node, "children", {}).values():
        _walk(child, found)


def page_links(app: AppTest) -> dict[str, str]:
    """Each page link's label and the query string it opens."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if getattr(node, "type", None) == "page_link" and proto is not None:
            found[proto.label] = proto.query_string
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    return found
