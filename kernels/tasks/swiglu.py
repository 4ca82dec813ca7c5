"""SwiGLU gate, silu(a) * b: the activation of gated MLPs (LLaMA and kin). Two inputs, one
output, so it is memory-bound, and a fused kernel saves the intermediate silu(a) round trip."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.silu(a) * b


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    rows, cols = shape["rows"], shape["cols"]
    a = 2.0 * torch.randn(rows, cols, generator=generator, dtype=torch.float32)
    b = torch.randn(rows, cols, generator=generator, dtype=torch.float32)
    return a.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    n = shape["rows"] * shape["cols"]
    # Read a and b, write the product. FLOPs: silu = a / (1 + exp(-a)) (neg, exp, add, div: 4)
    # and the gate multiply (1): 5 per element.
    return 3.0 * n * element_bytes, 5.0 * n


SPEC = KernelSpec(
    name="swiglu",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    # LLaMA-3-8B's MLP width: 14336 is not a power of two.
    gpu_shape={"rows": 4096, "cols": 14336},
    cpu_shape={"rows": 37, "cols": 203},
)
