"""Elementwise addition: the smallest memory-bound kernel, and the suite's calibration."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x + y


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    n = shape["n"]
    x = torch.randn(n, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)
    y = torch.randn(n, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)
    return x, y


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    n = shape["n"]
    return 3.0 * n * element_bytes, float(n)  # read x and y, write the sum; one add each


SPEC = KernelSpec(
    name="vector_add",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"n": 1 << 26},
    cpu_shape={"n": 5_003},
)
