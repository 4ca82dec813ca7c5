"""Per-row cross-entropy from logits over a large vocabulary: a log-sum-exp over rows too long
for one block of registers plus a gather of the target logit; the LM-head loss of every LLM."""

from __future__ import annotations

import torch

from evoforge.kernels.spec import KernelSpec, Shape


def reference(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # The loss is always float32, whatever the logits' dtype.
    return torch.nn.functional.cross_entropy(logits.float(), targets, reduction="none")


def make_inputs(
    shape: Shape, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    rows, vocab = shape["rows"], shape["vocab"]
    logits = 3.0 * torch.randn(rows, vocab, generator=generator, dtype=torch.float32)
    targets = torch.randint(0, vocab, (rows,), generator=generator, dtype=torch.int64)
    return logits.to(device=device, dtype=dtype), targets.to(device=device)


def roofline(shape: Shape, element_bytes: int) -> tuple[float, float]:
    rows, vocab = shape["rows"], shape["vocab"]
    n = rows * vocab
    # Read the logits once and the int64 targets, write one float32 loss per row.
    # FLOPs: max, subtract, exp, sum: 4 per logit (the log and target gather are per row).
    return n * element_bytes + rows * 8.0 + rows * 4.0, 4.0 * n


SPEC = KernelSpec(
    name="cross_entropy",
    reference=reference,
    make_inputs=make_inputs,
    roofline=roofline,
    gpu_shape={"rows": 4096, "vocab": 32768},
    # More than one 1024-wide chunk per row, and not a multiple of 16.
    cpu_shape={"rows": 37, "vocab": 2053},
)
