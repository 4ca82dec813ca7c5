"""2-D transpose: the naive seed, one small tile per program, read by rows, written by columns."""

import torch
import triton
import triton.language as tl


# EVOLVE-BLOCK-START
@triton.jit
def transpose_kernel(
    x_ptr,
    out_ptr,
    rows,
    cols,
    x_stride_r,
    x_stride_c,
    out_stride_r,
    out_stride_c,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    mask = (r[:, None] < rows) & (c[None, :] < cols)
    tile = tl.load(x_ptr + r[:, None] * x_stride_r + c[None, :] * x_stride_c, mask=mask)
    # out[c, r] = x[r, c]
    tl.store(out_ptr + c[None, :] * out_stride_r + r[:, None] * out_stride_c, tile, mask=mask)


def forward(x: torch.Tensor) -> torch.Tensor:
    rows, cols = x.shape
    out = torch.empty((cols, rows), dtype=x.dtype, device=x.device)
    block_r = 32
    block_c = 32
    grid = (triton.cdiv(rows, block_r), triton.cdiv(cols, block_c))
    transpose_kernel[grid](
        x,
        out,
        rows,
        cols,
        x.stride(0),
        x.stride(1),
        out.stride(0),
        out.stride(1),
        BLOCK_R=block_r,
        BLOCK_C=block_c,
        num_warps=4,
    )
    return out


# EVOLVE-BLOCK-END
