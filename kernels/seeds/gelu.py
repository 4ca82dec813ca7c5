"""GELU (tanh approximation): the naive seed, one small block of elements per program."""

import torch
import triton
import triton.language as tl


# EVOLVE-BLOCK-START
@triton.jit
def gelu_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    # 0.5 * x * (1 + tanh(inner)) == x * sigmoid(2 * inner)
    y = x / (1.0 + tl.exp(-2.0 * inner))
    tl.store(out_ptr + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


def forward(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n = x.numel()
    block = 256
    gelu_kernel[(triton.cdiv(n, block),)](x, out, n, BLOCK=block, num_warps=4)
    return out


# EVOLVE-BLOCK-END
