"""Row-wise sum: the plainest reduction, where the only questions are how to split a row over
threads and accumulating in float32 even when the tensor is half precision."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(x: torch.Tensor) -> torch.Tensor:
    # Accumulates in float32 internally; the result has x's dtype.
    return x.sum(dim=-1)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor]:
    x = torch.randn(shape["rows"], shape["cols"], generator=generator, dtype=torch.float32)
    return (x.to(device=device, dtype=dtype),)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    rows, cols = shape["rows"], shape["cols"]
    # Read x, write one value per row; one add per element.
    return (rows * cols + rows) * float(element_bytes), float(rows * cols)


SPEC = KernelSpec(
    name="row_sum",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 4096, "cols": 8192},
    cpu_shape={"rows": 37, "cols": 203},
)
