"""Length-prefixed pickle frames over a stream socket, safe to send from many threads."""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from typing import Any

_HEADER = struct.Struct("<I")
# Reads go into a per-connection buffer of this size (recv_into: no allocation per read);
# the rest of a frame larger than that is read straight into place.
_RECV_CHUNK = 1 << 16


class ConnectionClosed(EOFError):
    """The peer closed the connection (usually: its process died)."""


class Connection:
    """One end of a framed socket. `send` is thread-safe; `recv*` belong to one reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self._buf = bytearray()
        self._chunk = bytearray(_RECV_CHUNK)
        self._chunk_view = memoryview(self._chunk)
        self._out = bytearray()  # frames not yet written (non-blocking senders only)
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

    def send_nowait(self, msg: Any) -> bool:
        """Queue a frame and write what the socket takes now, never blocking.

        For a non-blocking socket read by an event loop: returns False when bytes are
        left over, and the loop must call flush() once the socket is writable. (A node
        manager that blocked writing to a worker that is itself blocked writing to the
        node manager would deadlock both.)
        """
        data = pickle.dumps(msg, protocol=5)
        frame = _HEADER.pack(len(data)) + data
        with self._send_lock:
            if self._out:
                self._out += frame
                return False
            try:
                n = self.sock.send(frame)
            except BlockingIOError:
                n = 0
            if n < len(frame):
                self._out += memoryview(frame)[n:]
                return False
            return True

    def flush(self) -> bool:
        """Write queued bytes; True once nothing is left."""
        with self._send_lock:
            while self._out:
                try:
                    n = self.sock.send(self._out)
                except BlockingIOError:
                    return False
                del self._out[:n]
            return True

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

    def _read(self) -> None:
        """One read from the socket into the buffer; ConnectionClosed at end of stream."""
        buf = self._buf
        missing = 0
        if len(buf) >= 4:
            missing = 4 + _HEADER.unpack_from(buf, 0)[0] - len(buf)
        if missing > _RECV_CHUNK:  # a large frame: read its rest in place
            start = len(buf)
            buf.extend(bytes(missing))
            n = 0
            try:
                n = self.sock.recv_into(memoryview(buf)[start:])
            finally:
                del buf[start + n:]
        else:
            n = self.sock.recv_into(self._chunk)
            buf += self._chunk_view[:n]
        if n == 0:
            self.closed = True
            raise ConnectionClosed()

    def recv_available(self) -> list[Any]:
        """Read what the socket has now (it must be readable) and return whole frames."""
        try:
            self._read()
        except BlockingIOError:
            return []
        return self._parse()

    def recv_blocking(self) -> list[Any]:
        """Block until at least one whole frame is here; return all whole frames."""
        while True:
            msgs = self._parse()
            if msgs:
                return msgs
            self._read()

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
