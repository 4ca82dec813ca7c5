"""Reading the candidate's source before it runs: what a kernel file may not do.

Published kernel harnesses have been gamed by candidates that call the PyTorch op
they were meant to replace, fall back to it in an `except`, patch the timer, or run
work on a side stream the timer does not see. Each rule here names one such trick.
The runtime guards (`guards.py`) catch what slips past a reading of the text (a
PyTorch op reached through a tensor method, a patch made through an alias); these
rules make the common cases fail fast, with the line to fix.

Pure `ast`: no PyTorch or Triton import, so the check costs milliseconds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

ALLOWED_MODULES = ("torch", "triton", "triton.language", "math", "typing", "__future__")
"""What a kernel file may import (`triton.language.extra...` too, for libdevice)."""

ALLOWED_FROM_TORCH = frozenset({"Tensor"})
ALLOWED_FROM_TRITON = frozenset(
    {"jit", "cdiv", "next_power_of_2", "Config", "autotune", "heuristics", "language"}
)
ALLOWED_TORCH_CALLS = frozenset(
    {"empty", "empty_like", "empty_strided", "zeros", "zeros_like", "full", "full_like"}
)
"""Host code may allocate; every other `torch.*` call is PyTorch doing the work."""

FORBIDDEN_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "setattr",
        "getattr",
        "delattr",
        "globals",
        "vars",
        "locals",
        "open",
        "breakpoint",
        "__builtins__",
    }
)
STREAM_NAMES = frozenset(
    {"Stream", "stream", "ExternalStream", "set_stream", "graph", "CUDAGraph", "Event"}
)


@dataclass(frozen=True)
class Violation:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def check_source(source: str, filename: str = "kernel.py") -> list[Violation]:
    """Every rule the source breaks, in line order; empty means it may run."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        return [Violation(exc.lineno or 0, f"syntax error: {exc.msg}")]
    checker = _Checker()
    checker.visit(tree)
    found = checker.violations
    if not checker.jit_kernels:
        found.append(Violation(1, "no @triton.jit kernel: the arithmetic must be a Triton kernel"))
    elif not checker.launched & checker.jit_kernels:
        names = ", ".join(sorted(checker.jit_kernels))
        found.append(
            Violation(
                1,
                f"no @triton.jit kernel is launched (define {names}, then call KERNEL[grid](...))",
            )
        )
    if "forward" not in checker.functions:
        found.append(Violation(1, "no forward() function: define forward(*inputs) -> Tensor"))
    return sorted(found, key=lambda v: v.line)


def _dotted(node: ast.AST) -> str | None:
    """`torch.cuda.synchronize` for that attribute chain; None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _is_jit(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = _dotted(target) or ""
    return (
        name.split(".")[-1] in ("jit", "autotune", "heuristics")
        and "triton" in name
        or (name in ("jit", "autotune", "heuristics"))
    )


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.jit_kernels: set[str] = set()
        self.launched: set[str] = set()
        self.functions: set[str] = set()
        self.modules: dict[str, str] = {}  # local alias -> module it names
        self._in_jit = 0

    def flag(self, node: ast.AST, message: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), message))

    def _resolve(self, dotted: str) -> str:
        """`tl.load` -> `triton.language.load`, `torch.cuda.x` stays as written."""
        head, _, rest = dotted.partition(".")
        module = self.modules.get(head)
        if module is None:
            return dotted
        return f"{module}.{rest}" if rest else module

    # imports -------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _allowed_module(alias.name):
                self.flag(node, f"imports {alias.name}: a kernel file may import only {_allowed()}")
                continue
            local = alias.asname or alias.name.split(".")[0]
            self.modules[local] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not _allowed_module(module):
            self.flag(
                node, f"imports from {module or '.'}: a kernel file may import only {_allowed()}"
            )
            return
        for alias in node.names:
            allowed = {
                "torch": ALLOWED_FROM_TORCH,
                "triton": ALLOWED_FROM_TRITON,
            }.get(module)
            if allowed is not None and alias.name not in allowed:
                self.flag(node, f"imports {alias.name} from {module}: use only {sorted(allowed)}")
                continue
            self.modules[alias.asname or alias.name] = f"{module}.{alias.name}"

    # definitions ---------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.add(node.name)
        jit = any(_is_jit(d) for d in node.decorator_list)
        if jit:
            self.jit_kernels.add(node.name)
            self._in_jit += 1
        self.generic_visit(node)
        if jit:
            self._in_jit -= 1

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.flag(node, "async def: the kernel must run on the caller's thread and stream")

    # statements ----------------------------------------------------------------------
    def visit_Try(self, node: ast.Try) -> None:
        self.flag(
            node,
            "try/except: a fallback hides a failing kernel (and can call PyTorch instead); "
            "let errors surface",
        )
        self.generic_visit(node)

    visit_TryStar = visit_Try  # type: ignore[assignment]

    def visit_Global(self, node: ast.Global) -> None:
        self.flag(node, "global: forward() must not keep state between calls (a result cache)")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_store(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_store(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_store(target)
        self.generic_visit(node)

    def _check_store(self, target: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_store(element)
        elif isinstance(target, ast.Starred):
            self._check_store(target.value)
        elif isinstance(target, ast.Attribute):
            dotted = _dotted(target)
            if dotted and dotted.split(".")[0] in self.modules:
                self.flag(
                    target,
                    f"assigns to {self._resolve(dotted)}: patching a library (its timer, "
                    "synchronize or the reference) is not allowed",
                )

    # expressions ---------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, f"uses {node.id}(): not allowed in a kernel file")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("__") and node.attr.endswith("__"):
            self.flag(node, f"uses {node.attr}: reaching into objects' internals is not allowed")
        dotted = _dotted(node)
        if dotted is not None:
            resolved = self._resolve(dotted)
            parts = resolved.split(".")
            if parts[0] == "torch":
                self._check_torch(node, parts)
        self.generic_visit(node)

    def _check_torch(self, node: ast.AST, parts: list[str]) -> None:
        if any(p in STREAM_NAMES for p in parts[1:]):
            self.flag(
                node,
                f"uses {'.'.join(parts)}: work must run on the caller's stream, where the "
                "timer sees it (no other streams, graphs or events)",
            )
        elif any(p == "synchronize" for p in parts[1:]):
            self.flag(node, f"uses {'.'.join(parts)}: synchronizing is the evaluator's job")
        elif len(parts) > 1 and (
            parts[1].startswith("_")
            or parts[1] in ("ops", "compile", "jit", "library", "nn", "backends", "autograd")
            or parts[1].startswith("set_")
            or parts[1] in ("manual_seed", "seed", "use_deterministic_algorithms")
        ):
            self.flag(node, f"uses {'.'.join(parts)}: not allowed in a kernel file")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult) and not self._in_jit:
            self.flag(node, "uses @ in host code: a PyTorch matmul; do it in a Triton kernel")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Subscript):  # KERNEL[grid](...) launches a Triton kernel
            name = _dotted(func.value)
            if name:
                self.launched.add(name)
        elif not self._in_jit:
            dotted = _dotted(func)
            if dotted is not None:
                parts = self._resolve(dotted).split(".")
                if (
                    parts[0] == "torch"
                    and len(parts) == 2
                    and parts[1] not in ALLOWED_TORCH_CALLS
                    and not parts[1].startswith("_")
                    and parts[1] not in ("ops", "compile", "jit")
                ):
                    self.flag(
                        node,
                        f"calls {'.'.join(parts)} in host code: PyTorch compute on the forward "
                        "path; compute in @triton.jit kernels (host code may only allocate)",
                    )
        self.generic_visit(node)


def _allowed_module(name: str) -> bool:
    return name in ALLOWED_MODULES or name.startswith("triton.language.")


def _allowed() -> str:
    return ", ".join(m for m in ALLOWED_MODULES if m != "__future__")
