"""One evaluation per GPU across every worker process on a machine.

A Celery worker runs evaluations in forked pool processes, and two workers may
share a machine, so the in-memory `GpuSlots` of the local executor cannot see the
other holders. A GPU is instead held as an exclusive `flock` on a per-GPU file in
the machine's temp folder: the kernel releases it when the holder exits for any
reason, `kill -9` included, so a lost evaluation never strands its GPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

POLL_S = 0.05


def lock_folder() -> Path:
    """Shared by every worker of this user on this machine, like the GPUs themselves."""
    folder = Path(tempfile.gettempdir()) / f"evoforge-gpu-locks-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class GpuLocks:
    def __init__(self, ids: Iterable[int], folder: Path | None = None) -> None:
        self.ids = list(ids)
        self.folder = folder or lock_folder()

    @contextlib.contextmanager
    def hold(self, timeout_s: float | None = None) -> Iterator[int]:
        """Wait for a free GPU of this worker and hold it for the block.

        Raises `TimeoutError` after `timeout_s` and `LookupError` when the worker has
        no GPUs at all.
        """
        if not self.ids:
            raise LookupError("this worker has no GPUs (start it with --gpus 0,1)")
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            for gpu in self.ids:
                fd = self._try_lock(gpu)
                if fd is not None:
                    try:
                        yield gpu
                    finally:
                        os.close(fd)  # closing the descriptor drops the lock
                    return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"no free GPU among {self.ids} after {timeout_s:g} s")
            time.sleep(POLL_S)

    def _try_lock(self, gpu: int) -> int | None:
        fd = os.open(self.folder / f"gpu{gpu}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd
