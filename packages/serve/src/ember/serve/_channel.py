"""A direct, persistent stream between the HTTP proxy and a replica on the same node.

Each replica listens on a Unix socket (an abstract one on Linux, so nothing is left on
disk when a replica is killed; elsewhere in a private 0700 directory); the proxy keeps
one connection per replica and multiplexes every HTTP request over it. A connection runs
ember's token handshake (`ember.lowlevel.handshake_accept`) with the replica's own
random token, which reaches routers with the replica set, before a single application
byte is read. After it, frames are a 4-byte big-endian length (checked against
`MAX_FRAME_BYTES` before anything is allocated) and a pickled tuple:

    proxy -> replica   (REQUEST, rid, (request_id, route, model_id), scope_parts, body)
                       (CANCEL, rid)            the client left: cancel the handler
                       (ACK, rid, nbytes)       nbytes of the body reached the client
    replica -> proxy   (MESSAGES, rid, [ASGI messages], final)

Only what varies per request travels (method, path, query, headers, client); the replica
rebuilds the ASGI scope around it. Messages a replica sends in one event-loop turn leave
in one write, and a streamed response flows without a round trip per chunk; a stream
pauses when more than `WINDOW_BYTES` of it are not yet acknowledged, so a slow client
holds back the replica instead of filling the proxy's memory.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import shutil
import socket
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.lowlevel import HandshakeGate, handshake_accept, handshake_connect

REQUEST, CANCEL, ACK, MESSAGES = 0, 1, 2, 3
_HEADER = struct.Struct("!I")
#: Largest frame either side accepts: a request body travels in one frame, and bodies
#: above 1 MiB take the object store instead (see _proxy).
MAX_FRAME_BYTES = 4 << 20
#: Unacknowledged bytes of one streamed response after which the replica waits.
WINDOW_BYTES = 256 * 1024


def handshake_timeout_s() -> float:
    return float(os.environ.get("EMBER_HANDSHAKE_TIMEOUT_S", "5"))


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking handshake on its own thread: a slow peer must not hold a shared
    executor's few threads (which large bodies and other handshakes also use)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def run() -> None:
        try:
            result = (True, fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
            result = (False, e)
        try:
            loop.call_soon_threadsafe(settle, *result)
        except RuntimeError:
            pass  # the loop closed meanwhile

    threading.Thread(target=run, daemon=True, name="ember-serve-handshake").start()
    return await fut


@dataclass(frozen=True)
class ChannelAddress:
    """Where a replica listens: its node, its socket path, the token it expects."""

    node_id: str
    path: str
    token: bytes

    def __repr__(self) -> str:  # the token stays out of logs
        return f"ChannelAddress({self.node_id[:8]}, {self.path})"


class FramedProtocol(asyncio.Protocol):
    """Length-prefixed pickled frames; what one loop turn sends leaves in one write."""

    def __init__(self, on_message: Callable[[tuple], None],
                 on_lost: Callable[[], None]) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._paused: asyncio.Future | None = None
        self.transport: Any = None
        self.closed = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, end = 0, len(buf)
        while end - pos >= 4:
            (n,) = _HEADER.unpack_from(buf, pos)
            if n > MAX_FRAME_BYTES:
                self.transport.close()
                return
            if end - pos - 4 < n:
                break
            try:
                msg = pickle.loads(memoryview(buf)[pos + 4:pos + 4 + n])
            except Exception:  # noqa: BLE001 - a broken peer: drop the connection
                self.transport.close()
                return
            pos += 4 + n
            self._on_message(msg)
        if pos:
            del buf[:pos]

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        if self._paused is not None and not self._paused.done():
            self._paused.set_result(None)
        self._on_lost()

    def pause_writing(self) -> None:
        self._paused = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._paused is not None and not self._paused.done():
            self._paused.set_result(None)
        self._paused = None

    async def drain(self) -> None:
        """Wait while the socket's send buffer is full."""
        if self._paused is not None:
            await self._paused

    def send(self, msg: tuple, now: bool = False) -> None:
        """Queue `msg`; it leaves at the end of this loop turn (or at once with `now`)."""
        if self.closed:
            return
        data = pickle.dumps(msg, protocol=5)
        self._out.append(_HEADER.pack(len(data)))
        self._out.append(data)
        if now:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        if out and not self.closed and not self.transport.is_closing():
            self.transport.write(b"".join(out))


# -- replica side ---------------------------------------------------------------------------


class ChannelListener:
    """A replica's Unix socket: authenticates each connection, then hands it frames."""

    def __init__(self, on_connection: Callable[[], FramedProtocol]) -> None:
        self._make = on_connection
        self._dir: str | None = None
        if sys.platform.startswith("linux"):
            # An abstract socket: no file to leave behind when the replica is killed.
            self.path = "\0ember-serve-" + os.urandom(12).hex()
        else:
            self._dir = tempfile.mkdtemp(prefix="ember-serve-")  # 0700
            self.path = os.path.join(self._dir, "replica.sock")
        self.token = os.urandom(32)
        self._gate = HandshakeGate()
        self._sock: socket.socket | None = None
        self._task: asyncio.Task | None = None
        self._protocols: set[FramedProtocol] = set()

    def start(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.path)
        sock.listen(512)
        sock.setblocking(False)
        self._sock = sock
        self._task = asyncio.get_running_loop().create_task(self._accept_forever())

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(self._sock)
            except OSError:  # out of descriptors, say: keep listening
                await asyncio.sleep(0.1)
                continue
            if not self._gate.enter():
                conn.close()
                continue
            loop.create_task(self._admit(conn))

    async def _admit(self, conn: socket.socket) -> None:
        try:
            conn.setblocking(True)
            ok = await in_thread(handshake_accept, conn, self.token, handshake_timeout_s())
        except Exception:  # noqa: BLE001
            ok = False
        finally:
            self._gate.leave()
        if not ok:
            conn.close()
            return
        conn.setblocking(False)
        loop = asyncio.get_running_loop()
        _, proto = await loop.connect_accepted_socket(self._make, conn)
        self._protocols.add(proto)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._sock is not None:
            self._sock.close()
        for p in self._protocols:
            if p.transport is not None:
                p.transport.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


# -- proxy side -----------------------------------------------------------------------------


class PendingResponse:
    """The proxy's view of one request on a channel: messages as they arrive."""

    __slots__ = ("rid", "msgs", "final", "waiter", "error")

    def __init__(self, rid: int) -> None:
        self.rid = rid
        self.msgs: list[dict] = []
        self.final = False
        self.waiter: asyncio.Future | None = None
        self.error: BaseException | None = None

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def next(self) -> tuple[list[dict], bool]:
        """The messages that arrived since the last call, and whether that was all."""
        while not self.msgs and not self.final:
            if self.error is not None:
                raise self.error
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        msgs, self.msgs = self.msgs, []
        return msgs, self.final


class ChannelClient:
    """The proxy's connection to one replica; requests are multiplexed over it."""

    def __init__(self, address: ChannelAddress) -> None:
        self.address = address
        self._proto: FramedProtocol | None = None
        self._connecting: asyncio.Future | None = None
        self._pending: dict[int, PendingResponse] = {}
        self._next_rid = 0
        self.broken = False

    @property
    def connected(self) -> bool:
        return self._proto is not None and not self._proto.closed

    async def connect(self) -> None:
        if self.connected:
            return
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            await in_thread(_connect_blocking, sock, self.address)
            sock.setblocking(False)
            _, proto = await asyncio.get_running_loop().create_unix_connection(
                lambda: FramedProtocol(self._on_message, self._on_lost), sock=sock)
        except BaseException:
            sock.close()
            self.broken = True
            raise
        self._proto = proto

    def request(self, meta: tuple, parts: tuple, body: bytes) -> PendingResponse:
        self._next_rid += 1
        rid = self._next_rid
        pr = PendingResponse(rid)
        self._pending[rid] = pr
        self._proto.send((REQUEST, rid, meta, parts, body))
        return pr

    def cancel(self, pr: PendingResponse) -> None:
        if self._pending.pop(pr.rid, None) is not None and self.connected:
            self._proto.send((CANCEL, pr.rid))

    def ack(self, pr: PendingResponse, nbytes: int) -> None:
        if self.connected:
            self._proto.send((ACK, pr.rid, nbytes))

    def _on_message(self, msg: tuple) -> None:
        _, rid, msgs, final = msg
        pr = self._pending.get(rid)
        if pr is None:
            return
        pr.msgs.extend(msgs)
        if final:
            pr.final = True
            del self._pending[rid]
        pr._wake()

    def _on_lost(self) -> None:
        self.broken = True
        pending, self._pending = self._pending, {}
        for pr in pending.values():
            pr.error = ConnectionError("The replica closed its channel.")
            pr._wake()

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()


def _connect_blocking(sock: socket.socket, address: ChannelAddress) -> None:
    timeout = handshake_timeout_s()
    sock.settimeout(timeout)
    sock.connect(address.path)
    handshake_connect(sock, address.token, timeout)
