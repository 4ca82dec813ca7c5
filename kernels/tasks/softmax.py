"""Row softmax over the last dim: the classic fused reduction (max, exp, sum, divide) whose
naive PyTorch form reads the row several times; one pass over data in registers is the goal."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape, Tolerance


def reference(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor]:
    x = 3.0 * torch.randn(shape["rows"], shape["cols"], generator=generator, dtype=torch.float32)
    return (x.to(device=device, dtype=dtype),)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    n = shape["rows"] * shape["cols"]
    # Read x, write y. FLOPs: max, subtract, exp, sum, divide: 5 per element.
    return 2.0 * n * element_bytes, 5.0 * n


SPEC = KernelSpec(
    name="softmax",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 4096, "cols": 8192},
    cpu_shape={"rows": 37, "cols": 203},
    # Most probabilities in a long row are far below the default atol, which would let a
    # kernel that writes zeros pass; the bound is relative, with a tiny absolute floor.
    tolerances={
        "float32": Tolerance(atol=1e-6, rtol=1e-4),
        "float16": Tolerance(atol=1e-5, rtol=1e-2),
        "bfloat16": Tolerance(atol=1e-5, rtol=2e-2),
    },
)
