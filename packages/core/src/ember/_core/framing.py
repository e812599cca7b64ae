"""Length-prefixed pickle frames over a stream socket, safe to send from many threads."""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from typing import Any

_HEADER = struct.Struct("<I")
_RECV_CHUNK = 1 << 20


class ConnectionClosed(EOFError):
    """The peer closed the connection (usually: its process died)."""


class Connection:
    """One end of a framed socket. `send` is thread-safe; `recv*` belong to one reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self._buf = bytearray()
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, msg: Any) -> None:
        data = pickle.dumps(msg, protocol=5)
        frame = _HEADER.pack(len(data)) + data
        with self._send_lock:
            self.sock.sendall(frame)

    def send_many(self, msgs: list[Any]) -> None:
        parts = []
        for msg in msgs:
            data = pickle.dumps(msg, protocol=5)
            parts.append(_HEADER.pack(len(data)))
            parts.append(data)
        with self._send_lock:
            self.sock.sendall(b"".join(parts))

    def _parse(self) -> list[Any]:
        out = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while n - pos >= 4:
            (size,) = _HEADER.unpack_from(buf, pos)
            if n - pos - 4 < size:
                break
            out.append(pickle.loads(memoryview(buf)[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        if pos:
            del buf[:pos]
        return out

    def recv_available(self) -> list[Any]:
        """Read what the socket has now (it must be readable) and return whole frames."""
        data = self.sock.recv(_RECV_CHUNK)
        if not data:
            self.closed = True
            raise ConnectionClosed()
        self._buf += data
        return self._parse()

    def recv_blocking(self) -> list[Any]:
        """Block until at least one whole frame is here; return all whole frames."""
        while True:
            msgs = self._parse()
            if msgs:
                return msgs
            data = self.sock.recv(_RECV_CHUNK)
            if not data:
                self.closed = True
                raise ConnectionClosed()
            self._buf += data

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
