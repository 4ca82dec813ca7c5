"""A listening socket that records who connected: what a sandbox must never add to."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def recording(server: socket.socket) -> Iterator[list[str]]:
    """Accept on a listening `server` until the block ends, recording each connection:
    what a hostile candidate must never add to."""
    server.settimeout(0.2)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            accepted.append(f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "unix")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        stop.set()
        thread.join(2)
        server.close()
