"""Matmul with a fused bias + ReLU epilogue: the matmul's compute plus an epilogue that must be
applied in registers before the store, instead of two extra passes over C."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape
from evoforge.kernels.tasks.matmul import MATMUL_TOLERANCES


def reference(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.relu(a @ b + bias)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    m, k, n = shape["M"], shape["K"], shape["N"]
    # Scaled so the entries of A @ B are O(1) whatever K is, like the bias.
    scale = k**-0.25
    a = scale * torch.randn(m, k, generator=generator, dtype=torch.float32)
    b = scale * torch.randn(k, n, generator=generator, dtype=torch.float32)
    bias = torch.randn(n, generator=generator, dtype=torch.float32)
    return tuple(t.to(device=device, dtype=dtype) for t in (a, b, bias))


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    m, k, n = shape["M"], shape["K"], shape["N"]
    # Read A, B and bias once, write C. FLOPs: 2 per (m, n, k), plus the bias add and the ReLU
    # (2 per output).
    return float(m * k + k * n + n + m * n) * element_bytes, 2.0 * m * n * k + 2.0 * m * n


SPEC = KernelSpec(
    name="matmul_bias_relu",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"M": 4096, "K": 4096, "N": 4096},
    cpu_shape={"M": 70, "K": 90, "N": 50},
    tolerances=MATMUL_TOLERANCES,
)
