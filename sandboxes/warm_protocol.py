"""The messages between a warm server and the sandbox that owns it: marshal'd dicts.

Each message is an 8-byte length and a marshal payload on a Unix stream socket; file
descriptors (an evaluation's stdin, stdout and stderr) ride on the length's bytes as
SCM_RIGHTS. Standard library only: the server side loads it inside the sandbox.
"""

from __future__ import annotations

import contextlib
import marshal
import socket
import struct

HEADER = struct.Struct("!Q")
MAX_MESSAGE = 1 << 30
"""A spec carries the task's instances; anything near this is a bug, not a task."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def send(sock: socket.socket, message: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
    data = marshal.dumps(message)
    header = HEADER.pack(len(data))
    if fds:
        sent = socket.send_fds(sock, [header], list(fds))
        if sent < len(header):
            sock.sendall(header[sent:])
    else:
        sock.sendall(header)
    sock.sendall(data)


def receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message and the descriptors that came with it; (None, []) at EOF."""
    header = b""
    fds: list[int] = []
    while len(header) < HEADER.size:
        if max_fds and not header:
            chunk, fds, _, _ = socket.recv_fds(sock, HEADER.size, max_fds)
        else:
            chunk = sock.recv(HEADER.size - len(header))
        if not chunk:
            for fd in fds:
                _close(fd)
            return None, []
        header += chunk
    (size,) = HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"a warm sandbox message of {size} bytes is too large")
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            for fd in fds:
                _close(fd)
            return None, []
        data += chunk
    message = marshal.loads(bytes(data))
    if not isinstance(message, dict):
        raise ValueError("a warm sandbox message is not a dict")
    return message, fds


def _close(fd: int) -> None:
    import os

    with contextlib.suppress(OSError):
        os.close(fd)
