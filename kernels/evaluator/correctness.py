"""Is the candidate the same function as the reference, on inputs it has never seen?

Each trial draws fresh random inputs from a seed nobody can predict, and:

1. computes the reference first, on clones, keeps a copy of its output and frees the
   original, so nothing the reference left behind is still in use;
2. poisons free memory (NaN, or a sentinel for integers) with buffers the size of the
   output, so a kernel that returns an allocation it never wrote shows the poison
   instead of the reference's answer left in the same memory;
3. runs the candidate under the guards, then checks that it returned a new, plain
   tensor of the right shape, dtype and device (not a view of an input, not a lazy
   subclass), that its inputs are bit-for-bit unchanged, and that it matches the
   reference within the dtype's tolerance;
4. poisons again and runs the candidate a second time on the same inputs: the two
   results must agree (a race, or a read of memory nothing wrote, rarely repeats).

A failure raises `KernelRejected` with the trial's seed and the first mismatching
indices and values, which the proposer sees.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from evoforge.kernels.evaluator.guards import KernelRejected, LaunchCounter, Snapshot, watching
from evoforge.kernels.spec import KernelSpec, Shape, Tolerance

MISMATCHES_SHOWN = 5
POISON_BUFFERS = 32


@dataclass(frozen=True)
class TrialPlan:
    shape: Shape
    dtype: str


@dataclass
class CorrectnessReport:
    trials: int
    max_abs_error: float


def check_correctness(
    spec: KernelSpec,
    forward: Callable[..., Any],
    plans: Sequence[TrialPlan],
    device: torch.device,
    counter: LaunchCounter,
    snapshot: Snapshot,
) -> CorrectnessReport:
    """Run every planned trial; raise `KernelRejected` at the first failure."""
    worst = 0.0
    for index, plan in enumerate(plans, start=1):
        seed = secrets.randbits(31)
        where = f"trial {index} of {len(plans)} (shape {plan.shape}, {plan.dtype}, seed {seed})"
        try:
            worst = max(worst, _trial(spec, forward, plan, seed, device, counter, snapshot))
        except KernelRejected as exc:
            raise KernelRejected(f"{where}: {exc.reason}", f"{where}:\n{exc.feedback}") from None
    return CorrectnessReport(trials=len(plans), max_abs_error=worst)


def _trial(
    spec: KernelSpec,
    forward: Callable[..., Any],
    plan: TrialPlan,
    seed: int,
    device: torch.device,
    counter: LaunchCounter,
    snapshot: Snapshot,
) -> float:
    dtype = getattr(torch, plan.dtype)
    inputs = spec.make_inputs(plan.shape, dtype, device, torch.Generator().manual_seed(seed))
    pristine = [_clone(value) for value in inputs]
    reference_out = spec.reference(*[_clone(value) for value in inputs])
    expected = reference_out.detach().to("cpu", copy=True)
    like = (tuple(reference_out.shape), reference_out.dtype)
    del reference_out
    _poison(*like, device)

    first = _run(forward, inputs, counter, snapshot)
    _check_output(first, expected, inputs, device)
    _check_unchanged(inputs, pristine)
    tolerance = spec.tolerance(plan.dtype)
    error = _compare(first, expected, tolerance, "the reference")

    _poison(*like, device)
    second = _run(forward, inputs, counter, snapshot)
    _check_output(second, expected, inputs, device)
    if second.untyped_storage().data_ptr() == first.untyped_storage().data_ptr():
        raise KernelRejected(
            "forward() returned the same tensor twice: each call must return a new output "
            "(a cache of results is not a kernel)"
        )
    _check_unchanged(inputs, pristine)
    try:
        _compare(second, first.detach().to("cpu", copy=True), tolerance, "the first run")
    except KernelRejected as exc:
        raise KernelRejected(
            f"a second run on the same inputs disagrees with the first ({exc.reason}): "
            "a race, or a read of memory nothing wrote",
            exc.feedback,
        ) from None
    return error


def _clone(value: Any) -> Any:
    return value.clone() if isinstance(value, torch.Tensor) else value


def _run(
    forward: Callable[..., Any], inputs: Sequence[Any], counter: LaunchCounter, snapshot: Snapshot
) -> Any:
    with watching(counter, snapshot):
        out = forward(*inputs)
    if isinstance(out, torch.Tensor) and out.is_cuda:
        torch.cuda.synchronize()
    return out


def _poison(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> None:
    """Fill freed memory of the output's size with a value no correct kernel writes."""
    value: float | int
    if dtype.is_floating_point:
        value = float("nan")
    elif dtype == torch.bool:
        value = True
    else:
        value = torch.iinfo(dtype).max
    buffers = [torch.empty(shape, dtype=dtype, device=device) for _ in range(POISON_BUFFERS)]
    for buffer in buffers:
        buffer.fill_(value)
    if device.type == "cuda":
        torch.cuda.synchronize()
    del buffers


def _check_output(
    out: Any, expected: torch.Tensor, inputs: Sequence[Any], device: torch.device
) -> None:
    if type(out) is not torch.Tensor:
        kind = type(out).__name__
        raise KernelRejected(
            f"forward() returned {kind}, not a plain torch.Tensor"
            + (
                " (a tensor subclass can defer or fake its values)"
                if isinstance(out, torch.Tensor)
                else ""
            )
        )
    if tuple(out.shape) != tuple(expected.shape) or out.dtype != expected.dtype:
        raise KernelRejected(
            f"forward() returned {out.dtype} {tuple(out.shape)}; the reference returns "
            f"{expected.dtype} {tuple(expected.shape)}"
        )
    if out.device.type != device.type:
        raise KernelRejected(f"forward() returned a tensor on {out.device}; expected {device}")
    start, end = _span(out)
    for index, value in enumerate(inputs):
        if isinstance(value, torch.Tensor):
            other_start, other_end = _span(value)
            if start < other_end and other_start < end:
                raise KernelRejected(
                    f"forward() returned memory of input {index} (a view or the input itself): "
                    "the output must be a new tensor the kernel wrote"
                )


def _span(tensor: torch.Tensor) -> tuple[int, int]:
    storage = tensor.untyped_storage()
    return storage.data_ptr(), storage.data_ptr() + storage.nbytes()


def _check_unchanged(inputs: Sequence[Any], pristine: Sequence[Any]) -> None:
    for index, (now, before) in enumerate(zip(inputs, pristine, strict=True)):
        if not isinstance(now, torch.Tensor):
            continue
        same = now.shape == before.shape and bool(
            (now.view(-1).view(torch.uint8) == before.view(-1).view(torch.uint8)).all()
            if now.is_contiguous() and before.is_contiguous()
            else torch.equal(now, before)
        )
        if not same:
            changed = int((now != before).sum()) if now.shape == before.shape else now.numel()
            raise KernelRejected(
                f"forward() wrote into input {index} ({changed} of {before.numel()} elements "
                "changed): inputs are read-only"
            )


def _compare(
    out: torch.Tensor, expected: torch.Tensor, tolerance: Tolerance, against: str
) -> float:
    """Raise with the first mismatches; return the largest absolute error."""
    got = out.detach().to("cpu", dtype=torch.float64)
    want = expected.to(dtype=torch.float64)
    close = torch.isclose(got, want, rtol=tolerance.rtol, atol=tolerance.atol, equal_nan=True)
    if bool(close.all()):
        finite = torch.isfinite(want)
        diff = (got - want).abs()[finite]
        return float(diff.max()) if diff.numel() else 0.0
    bad = (~close).nonzero()
    count = bad.shape[0]
    poisoned = int((torch.isnan(got) & ~torch.isnan(want)).sum())
    lines = [
        f"{count} of {want.numel()} elements differ from {against} "
        f"(atol {tolerance.atol:g}, rtol {tolerance.rtol:g})"
    ]
    if poisoned:
        lines.append(
            f"{poisoned} element(s) are NaN, the poison the evaluator wrote into free memory "
            "before the run: the kernel never wrote them (or read memory it did not own)"
        )
    for position in bad[:MISMATCHES_SHOWN].tolist():
        index = tuple(position)
        lines.append(
            f"  at {list(index)}: got {got[index].item():.6g}, expected {want[index].item():.6g}"
        )
    finite = torch.isfinite(got) & torch.isfinite(want)
    if bool(finite.any()):
        lines.append(f"max abs error {float((got - want).abs()[finite].max()):.3g}")
    first = tuple(bad[0].tolist())
    reason = (
        f"{count} of {want.numel()} output elements differ from {against}; first at "
        f"{list(first)}: got {got[first].item():.6g}, expected {want[first].item():.6g}"
    )
    if poisoned:
        reason += f" ({poisoned} never written: they hold the poison)"
    raise KernelRejected(reason, "\n".join(lines))
