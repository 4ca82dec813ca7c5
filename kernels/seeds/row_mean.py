"""Row-wise mean: the naive seed, one program per row holding the whole row in one block."""

import torch
import triton
import triton.language as tl


# EVOLVE-BLOCK-START
@triton.jit
def row_mean_kernel(x_ptr, out_ptr, cols, x_row_stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offsets = tl.arange(0, BLOCK)
    mask = offsets < cols
    x = tl.load(x_ptr + row * x_row_stride + offsets, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=0) / cols
    tl.store(out_ptr + row, mean.to(out_ptr.dtype.element_ty))


def forward(x: torch.Tensor) -> torch.Tensor:
    rows, cols = x.shape
    out = torch.empty(rows, dtype=x.dtype, device=x.device)
    block = triton.next_power_of_2(cols)
    row_mean_kernel[(rows,)](x, out, cols, x.stride(0), BLOCK=block, num_warps=4)
    return out


# EVOLVE-BLOCK-END
