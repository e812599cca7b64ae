"""The object transfer service: raw TCP streams of object bytes between node managers.

Control messages go over gRPC; bulk bytes do not need its framing. A connection starts
with the token handshake (`ember._core.common.handshake`); nothing else is read before it
succeeds. Requests are then fixed-format (one op byte, a length-checked object id), never
pickle. A pull asks a peer for one object and the peer writes the object's bytes straight from
its shared memory to the socket; the puller reads them straight into the destination in
its own store (Region.read_from, GIL released): one copy on each side, never the whole
object in Python memory.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import TYPE_CHECKING, Any

from ember import _native
from ember._core.common import handshake, limits

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

_SIZE = struct.Struct(">q")
_REQUEST = struct.Struct(">cB")  # op, object id length
_PULL = b"P"
_MAX_ID = 64
_BUSY = -3  # the object is spilled and the store has no room to restore it right now


class TransferServer:
    """Serves pulls of this node's objects to peers that present the token."""

    def __init__(self, manager: NodeManager, token: str, host: str) -> None:
        self.manager = manager
        self._token = token.encode()
        self._gate = handshake.Gate()
        self.sock = socket.create_server((host, 0))
        self.address = f"{host}:{self.sock.getsockname()[1]}"
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True, name="ember-transfer").start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if not self._gate.enter():
                return
            try:
                ok = handshake.accept(conn, self._token, limits.handshake_timeout_s())
            finally:
                self._gate.leave()
            if not ok:
                return
            while True:
                head = _recv_exact(conn, _REQUEST.size)
                op, n = _REQUEST.unpack(head)
                if op != _PULL or n > _MAX_ID:
                    return  # not our protocol: drop the connection
                self._send_object(conn, _recv_exact(conn, n))
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            conn.close()

    def _send_object(self, conn: socket.socket, oid: bytes) -> None:
        m = self.manager
        with m.lock:
            e = m.objects.entries.get(oid)
            if e is None:
                conn.sendall(_SIZE.pack(-1))
                return
            if e.inline is not None:
                data, pinned = e.inline, False
            else:
                try:
                    offset, size = m.store.get(oid)  # may restore it from disk
                except _native.StoreFullError:
                    conn.sendall(_SIZE.pack(_BUSY))
                    return
                data, pinned = m.region.view(offset, size), True
        try:
            conn.sendall(_SIZE.pack(len(data)))
            conn.sendall(data)
        finally:
            if pinned:
                del data
                m.store.release(oid)

    def stop(self) -> None:
        self._stopped = True
        self.sock.close()


class TransferClient:
    """Pulls objects from peers, one pooled connection per peer at a time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self._idle: dict[str, list[socket.socket]] = {}
        self._lock = threading.Lock()

    def pull_into(self, address: str, oid: bytes, region: Any, offset: int, size: int) -> None:
        """Copy object `oid` from the peer at `address` into region[offset:offset+size]."""
        sock = self._connection(address)
        ok = False
        try:
            sock.sendall(_REQUEST.pack(_PULL, len(oid)) + oid)
            header = _recv_exact(sock, _SIZE.size)
            (n,) = _SIZE.unpack(header)
            if n == _BUSY:
                raise BlockingIOError(f"the store at {address} has no room to restore object "
                                      f"{oid.hex()} right now; try again")
            if n < 0:
                raise KeyError(f"object {oid.hex()} is not on {address}")
            if n != size:
                raise ValueError(f"object {oid.hex()} is {n} bytes on {address}, expected {size}")
            region.read_from(sock.fileno(), offset, size)
            ok = True
        finally:
            if ok:
                with self._lock:
                    self._idle.setdefault(address, []).append(sock)
            else:
                sock.close()

    def _connection(self, address: str) -> socket.socket:
        with self._lock:
            pool = self._idle.get(address)
            if pool:
                return pool.pop()
        host, port = address.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=30)
        try:
            handshake.connect(sock, self._token, 30.0)
        except handshake.AuthenticationFailed as e:
            sock.close()
            raise PermissionError(f"the transfer service at {address} refused: {e}") from e
        return sock

    def close(self) -> None:
        with self._lock:
            for pool in self._idle.values():
                for s in pool:
                    s.close()
            self._idle.clear()


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the peer closed the transfer connection")
        buf += chunk
    return bytes(buf)
