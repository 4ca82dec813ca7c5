"""Bounded capture of a child's stdout and stderr.

A candidate may print without end (a debug loop, or on purpose: 1 GB to stdout). The
sandbox must keep reading, or the child blocks on a full pipe and looks hung, yet it
must not hold what it reads. What a person debugging a candidate wants is the start
(imports, the first error) and the end (the last progress line, the traceback), so
the buffer keeps the first and the last `cap` bytes and counts what it dropped.
"""

from __future__ import annotations

DEFAULT_CAP = 32 * 1024


class CappedStream:
    """The first `cap` and last `cap` bytes of a stream, and how much fell between."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk; memory stays under about 3 x `cap` whatever is fed."""
        self.total += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        if len(chunk) >= self.cap:
            self.tail[:] = chunk[-self.cap :]
            return
        self.tail += chunk
        # Trim only once the tail has doubled, so trimming costs O(1) per byte fed.
        if len(self.tail) > 2 * self.cap:
            del self.tail[: -self.cap]

    @property
    def elided(self) -> int:
        """Bytes dropped between the head and the tail."""
        return self.total - len(self.head) - min(len(self.tail), self.cap)

    def text(self) -> str:
        """The kept bytes as text, with a marker where bytes were dropped."""
        tail = bytes(self.tail[-self.cap :]) if self.tail else b""
        head = self.head.decode("utf-8", "replace")
        if self.elided <= 0:
            return (bytes(self.head) + tail).decode("utf-8", "replace")
        return f"{head}\n[... {self.elided} bytes elided ...]\n{tail.decode('utf-8', 'replace')}"
