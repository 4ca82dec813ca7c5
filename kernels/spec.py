"""What one kernel task declares: the PyTorch reference, its inputs and its roofline.

Each module in `evoforge.kernels.tasks` defines `SPEC`, a `KernelSpec`. The evaluator
imports that module inside the sandbox (it needs PyTorch); the orchestrator never
does: the task's name, prose and seed live in `evoforge.kernels.catalog`, which has
no PyTorch import, so listing tasks stays fast on machines without it.

The candidate's artifact is one file, `kernel.py`, that defines `forward(*inputs)`:
the same positional inputs as `reference`, returning one new tensor computed by
Triton kernels it launches. Host code may allocate (`torch.empty`), read shapes and
strides, and compute launch grids; the arithmetic belongs in `@triton.jit` kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

Shape = dict[str, int]
"""Named sizes of one problem instance, e.g. `{"rows": 4096, "cols": 4096}`."""

MakeInputs = Callable[[Shape, "torch.dtype", "torch.device", "torch.Generator"], tuple[Any, ...]]
"""`(shape, dtype, device, generator) -> inputs`: fresh random inputs for one trial.

Draw every random tensor from `generator` (on the CPU, then move it to `device`) so
a trial is reproducible from its seed, and never return zeros or constants: they
hide unwritten outputs and wrong indexing."""

Roofline = Callable[[Shape, int], tuple[float, float]]
"""`(shape, element_bytes) -> (bytes moved, floating-point operations)`: the fewest
bytes the op must move through device memory (each input read once, each output
written once) and the FLOPs it must do, so achieved GB/s and TFLOP/s can be set
against the device's peak."""


@dataclass(frozen=True)
class Tolerance:
    """How far the candidate may be from the reference, elementwise: |out - ref| <=
    atol + rtol * |ref|."""

    atol: float
    rtol: float


# Rounding of the reference itself differs from a fused kernel's by a few ulps of the
# element type, and accumulations differ in order, so each dtype gets its own bound.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(atol=1e-4, rtol=1e-4),
    "float16": Tolerance(atol=1e-2, rtol=1e-2),
    "bfloat16": Tolerance(atol=2e-2, rtol=2e-2),
}


@dataclass(frozen=True)
class KernelSpec:
    """One op to write a Triton kernel for.

    `gpu_shape` is a realistic size that fills a modern GPU and is what speed is
    measured on; `cpu_shape` is small and deliberately not a multiple of common block
    sizes, so masks are exercised when correctness is checked under the interpreter.
    """

    name: str
    reference: Callable[..., Any]
    make_inputs: MakeInputs
    roofline: Roofline
    gpu_shape: Shape
    cpu_shape: Shape
    gpu_dtype: str = "float16"
    cpu_dtype: str = "float32"
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    """Overrides of `DEFAULT_TOLERANCES` by dtype name, e.g. for reductions over long rows."""

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype) or DEFAULT_TOLERANCES[dtype]
