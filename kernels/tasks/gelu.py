"""Fused GELU (tanh approximation): an elementwise op whose transcendental math is cheap next to
the memory traffic, so the kernel is purely a bandwidth exercise unless it wastes instructions."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.gelu(x, approximate="tanh")


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor]:
    rows, cols = shape["rows"], shape["cols"]
    x = 2.0 * torch.randn(rows, cols, generator=generator, dtype=torch.float32)
    return (x.to(device=device, dtype=dtype),)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    n = shape["rows"] * shape["cols"]
    # Read x, write y. FLOPs: x^3 (2), *0.0447 and +x (2), *sqrt(2/pi) (1), tanh (~1),
    # +1, *0.5, *x (3): about 9 per element.
    return 2.0 * n * element_bytes, 9.0 * n


SPEC = KernelSpec(
    name="gelu",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 8192, "cols": 8192},
    cpu_shape={"rows": 37, "cols": 203},
)
