"""Dense matmul C = A @ B: the compute-bound kernel of the suite, where tiling, tensor cores,
pipelining and program ordering (L2 reuse) decide how close it gets to peak TFLOP/s."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape, Tolerance


def reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    m, k, n = shape["M"], shape["K"], shape["N"]
    # Scaled so the entries of C are O(1) whatever K is.
    scale = k**-0.25
    a = scale * torch.randn(m, k, generator=generator, dtype=torch.float32)
    b = scale * torch.randn(k, n, generator=generator, dtype=torch.float32)
    return a.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    m, k, n = shape["M"], shape["K"], shape["N"]
    # Read A and B once, write C; one multiply and one add per (m, n, k).
    return float(m * k + k * n + m * n) * element_bytes, 2.0 * m * n * k


# Accumulation order differs over a long K, and tl.dot on float32 uses TF32 on a GPU by default.
MATMUL_TOLERANCES = {
    "float32": Tolerance(atol=1e-2, rtol=1e-2),
    "float16": Tolerance(atol=2e-2, rtol=2e-2),
    "bfloat16": Tolerance(atol=5e-2, rtol=5e-2),
}

SPEC = KernelSpec(
    name="matmul",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"M": 4096, "K": 4096, "N": 4096},
    cpu_shape={"M": 70, "K": 90, "N": 50},
    tolerances=MATMUL_TOLERANCES,
)
