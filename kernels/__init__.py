"""Triton kernel tasks and the kernel evaluator (see the kernels issue)."""
