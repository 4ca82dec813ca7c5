"""Out-of-place 2-D transpose: pure data movement where a naive kernel reads coalesced but
writes strided (or the reverse); reaching bandwidth needs tiles staged through shared memory."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(x: torch.Tensor) -> torch.Tensor:
    return x.t().contiguous()


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor]:
    x = torch.randn(shape["rows"], shape["cols"], generator=generator, dtype=torch.float32)
    return (x.to(device=device, dtype=dtype),)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    n = shape["rows"] * shape["cols"]
    return 2.0 * n * element_bytes, 0.0  # read x, write its transpose; no arithmetic


SPEC = KernelSpec(
    name="transpose",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 8192, "cols": 4096},
    cpu_shape={"rows": 37, "cols": 203},
)
