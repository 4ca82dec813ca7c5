"""Triton kernel tasks: a PyTorch reference, random inputs and a naive seed per op.

Each task is registered as `kernel_<op>` with two objectives: `speedup` (correctness
on the GPU, then the median time against PyTorch eager and `torch.compile`) and
`correctness` (the Triton interpreter on the CPU, no timing). A run without
`--objective` takes `speedup` where the executor has a GPU and `correctness`
elsewhere, and says which it took.

This package is imported to register the tasks, so it imports neither PyTorch nor
Triton: those load inside the sandbox, in `evoforge.kernels.evaluator`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evoforge.hookspecs import hookimpl
from evoforge.kernels.catalog import ENTRIES, KernelEntry

if TYPE_CHECKING:
    from evoforge.task import Task

SEEDS = Path(__file__).parent / "seeds"
STAGES = "evoforge.kernels.evaluator.stages"
WARM_IMPORTS = [
    "torch",
    "triton",
    "triton.language",
    "numpy.random",
    "numpy.fft",
    "sympy",
    # What the guards and Triton's interpreter pull in on a first kernel call: seconds
    # of imports a warm server pays once instead of every evaluation. None of them
    # initialises CUDA (benchmarks/warm_sandboxes.py measures the effect).
    "torch._dynamo",
    "torch._inductor.utils",
    "torch._higher_order_ops.triton_kernel_wrap",
    "evoforge.kernels.evaluator.correctness",
    "evoforge.kernels.evaluator.guards",
    "evoforge.kernels.evaluator.hardware",
    "evoforge.kernels.evaluator.session",
    "evoforge.kernels.evaluator.static_checks",
]

BACKGROUND = """\
`kernel.py` must define `forward(*inputs)`, taking the reference's inputs in the same
order and returning one new tensor with the reference's shape and dtype. The arithmetic
must happen in Triton kernels (`@triton.jit`) that `forward` launches. Host code may
allocate outputs (`torch.empty`, `torch.empty_like`, `torch.zeros`), read shapes,
strides and dtypes, make views, and compute launch grids (`triton.cdiv`,
`triton.next_power_of_2`).

The evaluator rejects, with the reason:
- any other PyTorch call on the forward path (including tensor methods such as
  `.sum()`, `.to()` or `.contiguous()` on a non-contiguous tensor), and `@` in host code;
- try/except, imports other than torch, triton and math, `global`, eval/exec,
  getattr/setattr, dunder attributes;
- other streams, CUDA graphs or events, synchronize calls, threads, and any assignment
  to a library's attributes (timers, synchronize, comparisons);
- writing into the inputs, returning an input or a view of one, returning the same
  tensor twice, or a tensor subclass;
- outputs that differ from the reference on fresh random inputs (5 trials, output
  memory poisoned with NaN beforehand), or a second run that disagrees with the first.

On a GPU, the score is the speedup over PyTorch eager (median of many runs, L2 flushed
between them); `torch.compile`'s time, achieved GB/s and TFLOP/s against the device's
peak, and each kernel's registers, spills and shared memory are in the feedback.
Speedups above 10x are re-verified and flagged for a human to check.
"""


def kernel_task(entry: KernelEntry) -> Task:
    """The task for one catalog entry (also usable for entries outside the catalog)."""
    from evoforge.kernels.evaluator.session import MODE_ENV, NO_TIMING_NOTE, TASK_ENV
    from evoforge.task import ArtifactFile, Objective, Resources, Stage, Task

    objective = (
        f"Write a faster Triton kernel for `{entry.name}`: {entry.summary} "
        f"The reference is `{entry.reference}`; implement {entry.signature}."
    )
    return Task(
        name=f"kernel_{entry.name}",
        description=entry.summary,
        objective=objective,
        background=BACKGROUND,
        files=[
            ArtifactFile(name="kernel.py", seed=(SEEDS / f"{entry.name}.py").read_text("utf-8"))
        ],
        stages=[Stage(name="compile", function=f"{STAGES}:compile_stage", threshold=1.0)],
        evaluate=f"{STAGES}:evaluate",
        metric="speedup",
        direction="maximize",
        resources=Resources(timeout_s=600.0, memory_mb=4096, gpus=1),
        env={TASK_ENV: f"evoforge.kernels.tasks.{entry.name}", MODE_ENV: "speed"},
        warm_imports=[*WARM_IMPORTS, f"evoforge.kernels.tasks.{entry.name}"],
        objectives={
            "speedup": Objective(
                metric="speedup",
                gpus=1,
                timeout_s=600.0,
                env={MODE_ENV: "speed"},
                note="speedup over PyTorch eager, timed on the GPU (torch.compile alongside)",
            ),
            "correctness": Objective(
                metric="correct",
                gpus=0,
                timeout_s=180.0,
                env={MODE_ENV: "correctness", "TRITON_INTERPRET": "1"},
                note=NO_TIMING_NOTE,
            ),
        },
        reference_score=1.0,
        reference_note="1.0 is PyTorch eager's own speed; above it the kernel is faster.",
        source="evoforge.kernels",
    )


@hookimpl
def evoforge_tasks() -> list[Task]:
    """Provide one `kernel_<op>` task per catalog entry."""
    return [kernel_task(entry) for entry in ENTRIES]
