"""A multi-file candidate as GEPA users index it: by component name.

GEPA candidates are `{"system_prompt": "...", "few_shot": "..."}`; in evoforge each
component is a file, and a file needs an extension (`system_prompt.txt`,
`few_shot.md`). `Components` is keyed by the name without its extension, and also
answers the full file name, which is what evoforge handed evaluators before.

Loaded in every evaluation that asks for the candidate's text: standard library only.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def component_names(file_names: list[str]) -> dict[str, str]:
    """file name -> component name: the name without its extension, unless two files
    would share it (`prompt.txt` and `prompt.md`), which then keep their full names."""
    stems = [os.path.splitext(name)[0] or name for name in file_names]
    return {
        name: stem if stems.count(stem) == 1 and stem not in file_names else name
        for name, stem in zip(file_names, stems, strict=True)
    }


class Components(dict):
    """Component name -> text; a full file name is accepted as a key too."""

    def __init__(self, texts: dict[str, str]) -> None:
        names = component_names(list(texts))
        super().__init__((names[file], text) for file, text in texts.items())
        self.aliases = {file: name for file, name in names.items() if file != name}

    def __missing__(self, key: Any) -> str:
        if key in self.aliases:
            return self[self.aliases[key]]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.aliases

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default
