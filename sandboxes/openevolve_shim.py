"""Lets OpenEvolve evaluators `from openevolve.evaluation_result import ...` unchanged.

Installed by the harness last on `sys.meta_path`, so a real OpenEvolve wins.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec

TYPE_CHECKING = False  # `typing` costs every evaluation milliseconds to import
if TYPE_CHECKING:
    from typing import Any


class OpenEvolveResult:
    """Stand-in for `openevolve.evaluation_result.EvaluationResult` (metrics + artifacts)."""

    __module__ = "openevolve.evaluation_result"

    def __init__(
        self, metrics: dict[str, Any] | None = None, artifacts: dict[str, Any] | None = None
    ) -> None:
        self.metrics = dict(metrics or {})
        self.artifacts = dict(artifacts or {})

    def __repr__(self) -> str:
        return f"EvaluationResult(metrics={self.metrics!r}, artifacts={self.artifacts!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpenEvolveResult) and (self.metrics, self.artifacts) == (
            other.metrics,
            other.artifacts,
        )


OpenEvolveResult.__name__ = OpenEvolveResult.__qualname__ = "EvaluationResult"


class _OpenEvolveShimFinder:
    """Last on `sys.meta_path`: answers `import openevolve` only when it is not installed."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in ("openevolve", "openevolve.evaluation_result"):
            return None
        return ModuleSpec(fullname, self, is_package=fullname == "openevolve")

    def create_module(self, spec: Any) -> Any:
        return None

    def exec_module(self, module: Any) -> None:
        module.EvaluationResult = OpenEvolveResult
        if module.__name__ == "openevolve":
            module.__path__ = []


def install_openevolve_shim() -> None:
    """Let OpenEvolve evaluators `from openevolve.evaluation_result import ...` unchanged."""
    sys.meta_path.append(_OpenEvolveShimFinder())
