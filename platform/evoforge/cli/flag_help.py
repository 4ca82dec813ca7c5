"""Help that shows a flag as a flag: `--json`, not `--json <bool>`.

Typer 0.29 labels every option with its Python type, so a flag reads as if it took a
value, and `--json true` is then an error ("Got unexpected extra argument"). Flags are
drawn with no type label; every other option keeps Typer's.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

_typed_label = TyperOption.display_type_rich


def _label(option: TyperOption, ctx: Any) -> str | None:
    """No label for a flag (it takes no value); Typer's own for everything else."""
    return None if option.is_flag else _typed_label(option, ctx)


def show_flags_without_a_type() -> None:
    """Install `_label` for every Typer option of this process, once at import of the CLI."""
    TyperOption.display_type_rich = _label  # type: ignore[method-assign]
