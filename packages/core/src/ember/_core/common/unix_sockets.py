"""Binding and connecting Unix sockets whose path is longer than the kernel allows.

A socket address holds at most 107 bytes of path, and a session folder under a deep
EMBER_TMPDIR (a test runner's temporary folder, a home directory) passes that. Such a path
is reached through `/proc/self/fd/<fd>/<name>`, where `fd` is the folder opened for the
call: the socket file is still created in, and found at, the real path.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["bind_unix", "connect_unix"]

_MAX_PATH = 107  # sizeof(sun_path) - 1 on Linux


@contextmanager
def _usable(path: str) -> Iterator[str]:
    if len(os.fsencode(path)) <= _MAX_PATH or path.startswith("\0"):
        yield path
        return
    folder, name = os.path.split(path)
    fd = os.open(folder or ".", os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{name}"
    finally:
        os.close(fd)


def bind_unix(sock: socket.socket, path: str) -> None:
    """sock.bind(path), whatever the length of the path."""
    with _usable(path) as usable:
        sock.bind(usable)


def connect_unix(sock: socket.socket, path: str) -> None:
    """sock.connect(path), whatever the length of the path."""
    with _usable(path) as usable:
        sock.connect(usable)
