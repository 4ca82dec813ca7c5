"""The kernel task suite as plain data: names, what to write, and where the seed is.

No PyTorch here: the orchestrator reads this to register tasks, and `evoforge tasks`
must stay fast (and work) on a machine without PyTorch. Everything that needs
PyTorch (reference, inputs, roofline) is in `evoforge.kernels.tasks.<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KernelEntry:
    """One kernel task as the proposer and `evoforge tasks` see it."""

    name: str
    """The op's name: the task is `kernel_<name>`, its module `evoforge.kernels.tasks.<name>`
    and its seed `kernels/seeds/<name>.py`."""
    summary: str
    """One line for `evoforge tasks`."""
    signature: str
    """`forward`'s inputs and output, with shapes and dtypes, as the proposer reads them."""
    reference: str
    """The PyTorch the kernel must match, as code the proposer reads."""


ENTRIES: tuple[KernelEntry, ...] = (
    KernelEntry(
        name="vector_add",
        summary="Elementwise x + y over a long vector.",
        signature="forward(x: Tensor[n], y: Tensor[n]) -> Tensor[n]",
        reference="x + y",
    ),
    KernelEntry(
        name="gelu",
        summary="Fused GELU with the tanh approximation, elementwise over a 2-D tensor.",
        signature="forward(x: Tensor[rows, cols] float16) -> Tensor[rows, cols] float16",
        reference='torch.nn.functional.gelu(x, approximate="tanh")',
    ),
    KernelEntry(
        name="softmax",
        summary="Softmax over the last dim of a 2-D tensor, one row at a time.",
        signature="forward(x: Tensor[rows, cols] float16) -> Tensor[rows, cols] float16",
        reference="torch.softmax(x, dim=-1)",
    ),
    KernelEntry(
        name="log_softmax",
        summary="Log-softmax over the last dim of a 2-D tensor, one row at a time.",
        signature="forward(x: Tensor[rows, cols] float16) -> Tensor[rows, cols] float16",
        reference="torch.log_softmax(x, dim=-1)",
    ),
    KernelEntry(
        name="layernorm",
        summary="LayerNorm over the last dim with weight and bias (eps 1e-5).",
        signature=(
            "forward(x: Tensor[rows, cols] float16, weight: Tensor[cols] float16, "
            "bias: Tensor[cols] float16) -> Tensor[rows, cols] float16"
        ),
        reference="torch.nn.functional.layer_norm(x, (x.shape[-1],), weight, bias, eps=1e-5)",
    ),
    KernelEntry(
        name="rmsnorm",
        summary="RMSNorm over the last dim with weight (eps 1e-6), computed in float32.",
        signature=(
            "forward(x: Tensor[rows, cols] float16, weight: Tensor[cols] float16) "
            "-> Tensor[rows, cols] float16"
        ),
        reference=(
            "xf = x.float()\n"
            "y = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + 1e-6) * weight.float()\n"
            "return y.to(x.dtype)"
        ),
    ),
    KernelEntry(
        name="cross_entropy",
        summary="Per-row cross-entropy loss from logits over a large vocabulary, in float32.",
        signature=(
            "forward(logits: Tensor[rows, vocab] float16, targets: Tensor[rows] int64) "
            "-> Tensor[rows] float32"
        ),
        reference=('torch.nn.functional.cross_entropy(logits.float(), targets, reduction="none")'),
    ),
    KernelEntry(
        name="row_sum",
        summary="Sum of each row of a 2-D tensor, accumulated in float32.",
        signature="forward(x: Tensor[rows, cols] float16) -> Tensor[rows] float16",
        reference="x.sum(dim=-1)",
    ),
    KernelEntry(
        name="row_mean",
        summary="Mean of each row of a 2-D tensor, accumulated in float32.",
        signature="forward(x: Tensor[rows, cols] float16) -> Tensor[rows] float16",
        reference="x.mean(dim=-1)",
    ),
    KernelEntry(
        name="matmul",
        summary="Dense matrix multiply C = A @ B.",
        signature=(
            "forward(a: Tensor[M, K] float16, b: Tensor[K, N] float16) -> Tensor[M, N] float16"
        ),
        reference="a @ b",
    ),
    KernelEntry(
        name="matmul_bias_relu",
        summary="Matrix multiply with a fused bias-add and ReLU epilogue.",
        signature=(
            "forward(a: Tensor[M, K] float16, b: Tensor[K, N] float16, bias: Tensor[N] float16) "
            "-> Tensor[M, N] float16"
        ),
        reference="torch.relu(a @ b + bias)",
    ),
    KernelEntry(
        name="swiglu",
        summary="SwiGLU gate silu(a) * b, elementwise over two 2-D tensors.",
        signature=(
            "forward(a: Tensor[rows, cols] float16, b: Tensor[rows, cols] float16) "
            "-> Tensor[rows, cols] float16"
        ),
        reference="torch.nn.functional.silu(a) * b",
    ),
    KernelEntry(
        name="transpose",
        summary="Out-of-place transpose of a 2-D tensor (pure data movement).",
        signature="forward(x: Tensor[rows, cols] float16) -> Tensor[cols, rows] float16",
        reference="x.t().contiguous()",
    ),
)
