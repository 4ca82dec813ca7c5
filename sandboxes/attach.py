"""The container's stdio over one attached socket: the go line in, capped output out.

Docker multiplexes a non-TTY container's stdout and stderr on the attach socket as
frames: one byte for the stream (1 stdout, 2 stderr), three zero bytes, a big-endian
32-bit length, then that many bytes. Reading the socket ourselves, rather than the
daemon's log, means a candidate that prints 1 GB costs the daemon's disk nothing
(the container runs with logging off) and costs us at most the capped buffers.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any

from evoforge.sandboxes.output import CappedStream

HEADER = struct.Struct(">BxxxL")
READ_SIZE = 1 << 20


def raw_socket(attached: Any) -> socket.socket:
    """The plain socket under what docker-py's `attach_socket` returns (a SocketIO)."""
    inner = getattr(attached, "_sock", attached)
    if not isinstance(inner, socket.socket):
        raise TypeError(f"cannot use {type(attached).__name__} as a socket")
    return inner


class AttachedStdio:
    """Pump the frames of one attach socket into two capped streams, in a thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.stdout = CappedStream()
        self.stderr = CappedStream()
        self._thread = threading.Thread(target=self._pump, name="evoforge-attach", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send_line(self, line: str) -> None:
        """Write one line to the container's stdin, then close our writing half (EOF)."""
        with contextlib.suppress(OSError):
            self.sock.sendall(f"{line}\n".encode())
            self.sock.shutdown(socket.SHUT_WR)

    def finish(self, timeout: float) -> None:
        """Wait for the daemon to close the stream after the container ended."""
        self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self.sock.close()
        self._thread.join(1.0)

    def _pump(self) -> None:
        buffer = bytearray()
        streams = {1: self.stdout, 2: self.stderr}
        while True:
            try:
                chunk = self.sock.recv(READ_SIZE)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            offset = 0
            while len(buffer) - offset >= HEADER.size:
                kind, size = HEADER.unpack_from(buffer, offset)
                end = offset + HEADER.size + size
                if len(buffer) < end:
                    break
                stream = streams.get(kind)
                if stream is not None:
                    stream.feed(bytes(buffer[offset + HEADER.size : end]))
                offset = end
            del buffer[:offset]
