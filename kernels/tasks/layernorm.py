"""LayerNorm over the last dim with weight and bias: two row statistics (mean, variance) plus
an affine epilogue, the normalization every transformer block runs; memory-bound when fused."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape

EPS = 1e-5


def reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), weight, bias, eps=EPS)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rows, cols = shape["rows"], shape["cols"]
    # A per-row offset and scale, so getting the mean or variance wrong shows.
    offset = torch.randn(rows, 1, generator=generator, dtype=torch.float32)
    scale = 1.0 + torch.rand(rows, 1, generator=generator, dtype=torch.float32)
    x = offset + scale * torch.randn(rows, cols, generator=generator, dtype=torch.float32)
    weight = 1.0 + 0.1 * torch.randn(cols, generator=generator, dtype=torch.float32)
    bias = 0.1 * torch.randn(cols, generator=generator, dtype=torch.float32)
    return tuple(t.to(device=device, dtype=dtype) for t in (x, weight, bias))


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    rows, cols = shape["rows"], shape["cols"]
    n = rows * cols
    # Read x, weight and bias once, write y. FLOPs: mean (1), subtract mean (1), square and
    # sum for the variance (2), times rstd (1), times weight (1), plus bias (1): 7 per element.
    return (2.0 * n + 2.0 * cols) * element_bytes, 7.0 * n


SPEC = KernelSpec(
    name="layernorm",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 8192, "cols": 4096},
    cpu_shape={"rows": 37, "cols": 203},
)
