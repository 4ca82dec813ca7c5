"""Row log-softmax: softmax's reduction with a log-sum-exp epilogue, the numerically careful
form used before NLL losses; the max subtraction must survive any restructuring."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(x: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(x, dim=-1)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor]:
    x = 3.0 * torch.randn(shape["rows"], shape["cols"], generator=generator, dtype=torch.float32)
    return (x.to(device=device, dtype=dtype),)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    n = shape["rows"] * shape["cols"]
    # Read x, write y. FLOPs: max, subtract, exp, sum, subtract log-sum: 5 per element
    # (the one log per row is negligible).
    return 2.0 * n * element_bytes, 5.0 * n


SPEC = KernelSpec(
    name="log_softmax",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 4096, "cols": 8192},
    cpu_shape={"rows": 37, "cols": 203},
)
