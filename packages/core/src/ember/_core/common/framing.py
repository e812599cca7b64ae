"""Length-prefixed pickle frames of typed messages (`messages`) over a stream socket, safe
to send from many threads."""

from __future__ import annotations

import pickle
import select
import socket
import struct
import threading
import time
from typing import Any

from ember._core.common import limits
from ember._core.common.messages import decode, encode
from ember._core.common.spin import Spinner

_HEADER = struct.Struct("<I")
# Reads go into a per-connection buffer of this size (recv_into: no allocation per read);
# the rest of a frame larger than that is read straight into place.
_RECV_CHUNK = 1 << 16


class ConnectionClosed(EOFError):
    """The peer closed the connection (usually: its process died)."""


class FrameTooLarge(ConnectionError):
    """The peer announced a frame over the limit; the connection is dropped unread."""


class Connection:
    """One end of a framed socket. `send` is thread-safe; `recv*` belong to one reader."""

    def __init__(self, sock: socket.socket, max_frame: int | None = None) -> None:
        self.sock = sock
        self.max_frame = limits.max_frame_bytes() if max_frame is None else max_frame
        self._big: bytearray | None = None  # the frame being read, when large
        self._big_view: memoryview | None = None
        self._big_pos = 0
        self._send_lock = threading.Lock()
        self._buf = bytearray()
        self._chunk = bytearray(_RECV_CHUNK)
        self._chunk_view = memoryview(self._chunk)
        self._out = bytearray()  # frames not yet written (non-blocking senders only)
        self._poller: select.poll | None = None  # recv_blocking's, made at its first wait
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def pending(self) -> bool:
        """Whether send_nowait left bytes for flush() to write."""
        return bool(self._out)

    def send(self, msg: Any) -> None:
        data = pickle.dumps(encode(msg), protocol=5)
        frame = _HEADER.pack(len(data)) + data
        with self._send_lock:
            self.sock.sendall(frame)

    def send_many(self, msgs: list[Any]) -> None:
        parts = []
        for msg in msgs:
            data = pickle.dumps(encode(msg), protocol=5)
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
        data = pickle.dumps(encode(msg), protocol=5)
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
        big = self._big
        if big is not None:
            if self._big_pos < len(big):
                return out
            self._big = None
            self._big_view = None
            out.append(decode(pickle.loads(big)))
        buf = self._buf
        pos = 0
        n = len(buf)
        while n - pos >= 4:
            (size,) = _HEADER.unpack_from(buf, pos)
            if size > self.max_frame:
                self.closed = True
                raise FrameTooLarge(
                    f"a frame of {size} bytes exceeds the limit of {self.max_frame} "
                    "(EMBER_MAX_FRAME_BYTES); large values belong in the object store")
            have = n - pos - 4
            if have < size:
                if size - have > _RECV_CHUNK:
                    # A large frame: one buffer, allocated once, read straight into place.
                    big = bytearray(size)
                    big[:have] = memoryview(buf)[pos + 4 :]
                    self._big = big
                    self._big_view = memoryview(big)
                    self._big_pos = have
                    pos = n
                break
            out.append(decode(pickle.loads(memoryview(buf)[pos + 4 : pos + 4 + size])))
            pos += 4 + size
        if pos:
            del buf[:pos]
        return out

    def _read(self) -> None:
        """One read from the socket into the buffer; ConnectionClosed at end of stream."""
        if self._big is not None:
            assert self._big_view is not None
            n = self.sock.recv_into(self._big_view[self._big_pos :])
            self._big_pos += n
        else:
            n = self.sock.recv_into(self._chunk)
            self._buf += self._chunk_view[:n]
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

    def recv_for(self, timeout: float, spinner: Spinner | None = None) -> list[Any]:
        """Whole frames that arrive within `timeout` seconds on a blocking socket ([] if
        none did; a frame begun is finished by the next call). With a `spinner`, it
        polls without sleeping first (spin.py)."""
        msgs = self._parse()
        if msgs:
            return msgs
        poller = self._input_poller()
        if spinner is not None:
            spinner.spin(self.input_ready)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                return []
            self._read()
            msgs = self._parse()
            if msgs:
                return msgs

    def recv_blocking(self, spinner: Spinner | None = None) -> list[Any]:
        """Block until at least one whole frame is here; return all whole frames (with a
        `spinner`, polling without sleeping first).

        It waits in poll(), not in recv(): a reader blocked in recv() is woken by every
        read its peer makes of what it sent (the freed send room wakes it), and on many
        machines that wake-up costs the peer's read ~10 µs; poll() waits for input only.
        """
        while True:
            msgs = self._parse()
            if msgs:
                return msgs
            if spinner is not None:
                spinner.spin(self.input_ready)
            self._input_poller().poll()
            self._read()

    def input_ready(self) -> bool:
        """Whether the socket has bytes to read now (it does not wait)."""
        return bool(self._input_poller().poll(0))

    def _input_poller(self) -> select.poll:
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.sock, select.POLLIN)
        return self._poller

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
