"""The kernel evaluator: static rules, guarded correctness trials, then GPU timing.

`stages.compile_stage` and `stages.evaluate` are what kernel tasks name; the other
modules each hold one part (see docs/kernels.md for the whole picture).
"""
