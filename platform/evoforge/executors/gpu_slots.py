"""GPU slots: which GPUs this machine may use, and one evaluation per GPU at a time.

Evaluations that time kernels must never share a GPU, or each one measures the
other's load. So an executor holds a `GpuSlots` with its GPU ids and every GPU
evaluation takes one id for its whole duration. The allocator is thread-safe and
blocking (`acquire`, `slot()`), which is what a worker running evaluations in its
own threads needs, and also has `acquire_async` so the local executor can wait for
a GPU without tying up one of its evaluation threads (CPU jobs keep those).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from evoforge.protocols import SandboxUnavailable

log = logging.getLogger(__name__)

NVIDIA_SMI_QUERY = ("--query-gpu=index", "--format=csv,noheader")
NVIDIA_SMI_TIMEOUT_S = 10.0
MAX_GPUS_PER_EVALUATION = 1


class GpuUnavailable(SandboxUnavailable):
    """The task needs GPUs the executor cannot give; the message says how to fix that.

    A `SandboxUnavailable` so every caller that already turns "cannot run here" into
    one line for the user (the CLI among them) does the same for this.
    """


def parse_gpus(value: str | int | Iterable[int | str] | None) -> list[int]:
    """GPU ids from an option: `"0,1"`, `[0, 1]` or `0`; `""`, `"none"` and `None` are none.

    Duplicates are refused rather than dropped: listing a GPU twice reads like a wish
    to run two evaluations on it, which is exactly what slots exist to prevent.
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        entries: list[Any] = [] if text.lower() in ("", "none") else text.split(",")
    elif isinstance(value, int) and not isinstance(value, bool):
        entries = [value]
    else:
        entries = list(value)
    ids: list[int] = []
    for entry in entries:
        gpu = _gpu_id(entry)
        if gpu is None:
            raise ValueError(
                f"GPU id {entry!r} is not a GPU index; give indices like 0,1 "
                "(or an empty value / none for no GPUs)"
            )
        if gpu in ids:
            raise ValueError(f"GPU {gpu} is listed twice; each GPU runs one evaluation at a time")
        ids.append(gpu)
    return ids


def _gpu_id(entry: Any) -> int | None:
    if isinstance(entry, bool):
        return None
    if isinstance(entry, int):
        return entry if entry >= 0 else None
    text = str(entry).strip()
    return int(text) if text.isdigit() else None


def parse_visible_devices(text: str) -> list[int]:
    """The GPU indices in a `CUDA_VISIBLE_DEVICES` value, read the way CUDA reads it.

    CUDA stops at the first invalid entry (so `-1` hides every GPU), and we do too.
    UUIDs (`GPU-...`, `MIG-...`) are valid to CUDA but cannot become a slot index, so
    they are skipped with a warning rather than guessed at.
    """
    ids: list[int] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if entry.upper().startswith(("GPU-", "MIG-")):
            log.warning("CUDA_VISIBLE_DEVICES entry %r is not an index; pass --gpus", entry)
            continue
        if not entry.isdigit():
            break
        if int(entry) not in ids:
            ids.append(int(entry))
    return ids


def discover_gpus(environ: Mapping[str, str] | None = None) -> list[int]:
    """This machine's GPUs: `CUDA_VISIBLE_DEVICES` if set (even empty), else nvidia-smi's.

    Never raises: a machine without a driver, or with a broken one, has no GPUs, and
    the run then refuses GPU tasks with a message naming `--gpus`.
    """
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return parse_visible_devices(visible)
    return _nvidia_smi_gpus()


def _nvidia_smi_gpus() -> list[int]:
    program = shutil.which("nvidia-smi")
    if program is None:
        return []
    try:
        done = subprocess.run(
            [program, *NVIDIA_SMI_QUERY],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("nvidia-smi failed (%s); assuming no GPUs", exc)
        return []
    if done.returncode != 0:
        log.warning("nvidia-smi exited with %d; assuming no GPUs", done.returncode)
        return []
    ids: list[int] = []
    for line in done.stdout.splitlines():
        gpu = _gpu_id(line)
        if gpu is not None and gpu not in ids:
            ids.append(gpu)
    return ids


def check_gpu_request(
    task_name: str,
    gpus_per_evaluation: int,
    available: Iterable[int],
    *,
    lacking: str = "this machine has none visible",
) -> None:
    """Refuse, before a run starts, a task this executor could never give its GPUs.

    `lacking` says why there are none, so the message points at the right fix.
    """
    if gpus_per_evaluation > MAX_GPUS_PER_EVALUATION:
        raise GpuUnavailable(
            f"task {task_name!r} asks for {gpus_per_evaluation} GPUs per evaluation, but "
            f"evoforge gives each evaluation at most {MAX_GPUS_PER_EVALUATION}; "
            "set resources.gpus = 1"
        )
    if gpus_per_evaluation > 0 and not list(available):
        raise GpuUnavailable(
            f"task {task_name!r} needs a GPU but {lacking}; "
            "pass --gpus (e.g. --gpus 0), or run it on a GPU worker"
        )


class GpuSlots:
    """Hands out each GPU id to one holder at a time; safe across threads and event loops."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids: tuple[int, ...] = tuple(parse_gpus(list(ids)))
        # Least recently released first, so consecutive evaluations spread over the GPUs.
        self._free: deque[int] = deque(self.ids)
        self._cond = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def __repr__(self) -> str:
        return f"GpuSlots(ids={list(self.ids)}, free={self.free()})"

    def __len__(self) -> int:
        return len(self.ids)

    def free(self) -> list[int]:
        with self._cond:
            return list(self._free)

    def try_acquire(self) -> int | None:
        """A free GPU id, or None at once when all are busy."""
        with self._cond:
            return self._free.popleft() if self._free else None

    def acquire(self, timeout: float | None = None) -> int:
        """Block until a GPU is free and take it; `TimeoutError` after `timeout` seconds."""
        self._require_some()
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._free), timeout):
                raise TimeoutError(f"no GPU of {list(self.ids)} came free in {timeout:g} s")
            return self._free.popleft()

    async def acquire_async(self) -> int:
        """Wait for a GPU without blocking the event loop; cancelling the wait takes none.

        Every release wakes every async waiter and the first to look takes the GPU; the
        others register again. With a handful of GPUs that costs nothing, and no wake-up
        can be lost to a waiter that was cancelled in the meantime.
        """
        self._require_some()
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._free:
                    return self._free.popleft()
                waiter: asyncio.Future[None] = loop.create_future()
                entry = (loop, waiter)
                self._async_waiters.append(entry)
            try:
                await waiter
            finally:
                with self._cond, contextlib.suppress(ValueError):
                    self._async_waiters.remove(entry)

    def release(self, gpu: int) -> None:
        """Give a GPU back; releasing one that is not held is a bug and raises."""
        with self._cond:
            if gpu not in self.ids or gpu in self._free:
                raise ValueError(f"GPU {gpu} is not held; it cannot be released")
            self._free.append(gpu)
            self._cond.notify_all()
            waiters, self._async_waiters = self._async_waiters, []
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that event loop has closed
                loop.call_soon_threadsafe(_wake, waiter)

    @contextlib.contextmanager
    def slot(self, timeout: float | None = None) -> Iterator[int]:
        """Hold one GPU for the `with` block, and give it back however the block ends."""
        gpu = self.acquire(timeout)
        try:
            yield gpu
        finally:
            self.release(gpu)

    def _require_some(self) -> None:
        # Waiting on an empty set of GPUs would wait forever; say why instead.
        if not self.ids:
            raise GpuUnavailable("no GPUs to give out; pass --gpus, or run on a GPU worker")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
