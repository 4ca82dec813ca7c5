"""LayerNorm: the naive seed, one program per row holding the whole row in one block."""

import torch
import triton
import triton.language as tl


# EVOLVE-BLOCK-START
@triton.jit
def layernorm_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr, cols, x_row_stride, out_row_stride, BLOCK: tl.constexpr
):
    row = tl.program_id(0)
    offsets = tl.arange(0, BLOCK)
    mask = offsets < cols
    x = tl.load(x_ptr + row * x_row_stride + offsets, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=0) / cols
    diff = tl.where(mask, x - mean, 0.0)
    var = tl.sum(diff * diff, axis=0) / cols
    rstd = 1.0 / tl.sqrt(var + 1e-5)
    w = tl.load(w_ptr + offsets, mask=mask).to(tl.float32)
    b = tl.load(b_ptr + offsets, mask=mask).to(tl.float32)
    y = diff * rstd * w + b
    tl.store(out_ptr + row * out_row_stride + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


def forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    rows, cols = x.shape
    out = torch.empty_like(x)
    block = triton.next_power_of_2(cols)
    layernorm_kernel[(rows,)](
        x, weight, bias, out, cols, x.stride(0), out.stride(0), BLOCK=block, num_warps=4
    )
    return out


# EVOLVE-BLOCK-END
