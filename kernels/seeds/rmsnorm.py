"""RMSNorm: the naive seed, one program per row holding the whole row in one block."""

import torch
import triton
import triton.language as tl


# EVOLVE-BLOCK-START
@triton.jit
def rmsnorm_kernel(x_ptr, w_ptr, out_ptr, cols, x_row_stride, out_row_stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offsets = tl.arange(0, BLOCK)
    mask = offsets < cols
    x = tl.load(x_ptr + row * x_row_stride + offsets, mask=mask, other=0.0).to(tl.float32)
    rstd = tl.rsqrt(tl.sum(x * x, axis=0) / cols + 1e-6)
    w = tl.load(w_ptr + offsets, mask=mask).to(tl.float32)
    y = x * rstd * w
    tl.store(out_ptr + row * out_row_stride + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


def forward(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    rows, cols = x.shape
    out = torch.empty_like(x)
    block = triton.next_power_of_2(cols)
    rmsnorm_kernel[(rows,)](
        x, weight, out, cols, x.stride(0), out.stride(0), BLOCK=block, num_warps=4
    )
    return out


# EVOLVE-BLOCK-END
