"""Row-wise mean: a reduction plus a division by the true row length, which a kernel that pads
rows to a power-of-two block easily gets wrong."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(x: torch.Tensor) -> torch.Tensor:
    # Accumulates in float32 internally; the result has x's dtype.
    return x.mean(dim=-1)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor]:
    rows, cols = shape["rows"], shape["cols"]
    # A per-row offset, so the means are O(1) and not all below the tolerance.
    offset = torch.randn(rows, 1, generator=generator, dtype=torch.float32)
    x = offset + torch.randn(rows, cols, generator=generator, dtype=torch.float32)
    return (x.to(device=device, dtype=dtype),)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    rows, cols = shape["rows"], shape["cols"]
    # Read x, write one value per row; one add per element and one divide per row.
    return (rows * cols + rows) * float(element_bytes), float(rows * cols + rows)


SPEC = KernelSpec(
    name="row_mean",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 4096, "cols": 8192},
    cpu_shape={"rows": 37, "cols": 203},
)
