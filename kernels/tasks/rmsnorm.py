"""RMSNorm with weight (LLaMA-style): one row reduction (mean of squares) and a scale, the
normalization of most current LLMs; the interesting part is reading x only once."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape

EPS = 1e-6


def reference(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    # Computed in float32 and rounded once, as a fused kernel does.
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + EPS) * weight.float()
    return y.to(x.dtype)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    rows, cols = shape["rows"], shape["cols"]
    # A per-row scale, so getting the root-mean-square wrong shows.
    scale = 0.5 + 2.0 * torch.rand(rows, 1, generator=generator, dtype=torch.float32)
    x = scale * torch.randn(rows, cols, generator=generator, dtype=torch.float32)
    weight = 1.0 + 0.1 * torch.randn(cols, generator=generator, dtype=torch.float32)
    return x.to(device=device, dtype=dtype), weight.to(device=device, dtype=dtype)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    rows, cols = shape["rows"], shape["cols"]
    n = rows * cols
    # Read x and weight once, write y. FLOPs: square and sum (2), times rsqrt (1),
    # times weight (1): 4 per element.
    return (2.0 * n + cols) * element_bytes, 4.0 * n


SPEC = KernelSpec(
    name="rmsnorm",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 8192, "cols": 4096},
    cpu_shape={"rows": 37, "cols": 203},
)
