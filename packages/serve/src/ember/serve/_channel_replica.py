"""The replica's end of the proxy channel (see _channel): one task per HTTP request.

A request's response messages go back batched per event-loop turn. The request is
finished for the proxy when its response is complete (a background task may run on) or
when its handler ends; a CANCEL from the proxy (the client left, or the request timed
out) cancels the handler's task, so the handler sees asyncio.CancelledError, and its
`receive()` answers `http.disconnect`.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from ember.serve._asgi import plain_response
from ember.serve._channel import ACK, CANCEL, MESSAGES, REQUEST, WINDOW_BYTES, FramedProtocol

#: Least time between two sends while a stream's messages keep coming.
COALESCE_S = 0.0005
_BASE_SCOPE = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}}

#: Runs one request: (exchange, meta, scope) -> awaitable; given by the replica.
Runner = Callable[["ChannelExchange", tuple, dict], Awaitable[None]]


def build_scope(parts: tuple) -> dict:
    """The ASGI scope of a request from the parts the proxy sent."""
    (method, scheme, path, raw_path, query_string, root_path, headers, client, server,
     http_version) = parts
    scope = dict(_BASE_SCOPE)
    scope["asgi"] = dict(_BASE_SCOPE["asgi"])
    scope.update(http_version=http_version, method=method, scheme=scheme, path=path,
                 raw_path=raw_path, query_string=query_string, root_path=root_path,
                 headers=headers, client=client, server=server, extensions={})
    return scope


class ChannelExchange:
    """One HTTP request/response on a channel, as the ASGI app sees it."""

    __slots__ = ("conn", "rid", "_body", "_body_sent", "_disconnected", "started",
                 "complete", "final_sent", "task", "_unacked", "_window", "on_complete",
                 "failed")

    def __init__(self, conn: ReplicaChannel, rid: int, body: bytes) -> None:
        self.conn = conn
        self.rid = rid
        self._body = body
        self._body_sent = False
        self._disconnected: asyncio.Event | None = None
        self.started = False
        self.complete = False
        self.final_sent = False
        self.task: asyncio.Task | None = None
        self._unacked = 0
        self._window: asyncio.Future | None = None
        self.on_complete: Callable[[], None] | None = None
        self.failed = False  # the handler raised

    def _event(self) -> asyncio.Event:
        if self._disconnected is None:
            self._disconnected = asyncio.Event()
        return self._disconnected

    @property
    def disconnected(self) -> bool:
        return self._disconnected is not None and self._disconnected.is_set()

    async def receive(self) -> dict:
        if not self._body_sent:
            self._body_sent = True
            body, self._body = self._body, b""
            return {"type": "http.request", "body": body, "more_body": False}
        if not self.final_sent:
            await self._event().wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if self.final_sent:
            if self.complete:
                return  # after the response: nothing more goes to the client
            raise OSError("The client disconnected.")
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
        elif kind == "http.response.body":
            self._unacked += len(message.get("body", b""))
            if not message.get("more_body"):
                self.complete = True
        self.conn.push(self, message, self.complete)
        if self.complete:
            self._finish_response()
        elif self._unacked > WINDOW_BYTES:
            while self._unacked > WINDOW_BYTES and not self.final_sent:
                self._window = asyncio.get_running_loop().create_future()
                await self._window
        else:
            await self.conn.drain()

    def acked(self, nbytes: int) -> None:
        self._unacked -= nbytes
        if self._window is not None and not self._window.done():
            self._window.set_result(None)

    def _finish_response(self) -> None:
        self.final_sent = True
        if self._disconnected is not None:  # a still-running app reads a disconnect
            self._disconnected.set()
        if self._window is not None and not self._window.done():
            self._window.set_result(None)
        cb, self.on_complete = self.on_complete, None
        if cb is not None:
            cb()

    def cancel(self) -> None:
        """The client left: end the handler."""
        self.final_sent = True
        if self._disconnected is not None:
            self._disconnected.set()
        if self._window is not None and not self._window.done():
            self._window.set_result(None)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def finished(self, exc: BaseException | None) -> None:
        """The handler ended (after the response, or without one)."""
        self.failed = exc is not None
        if self.final_sent:
            cb, self.on_complete = self.on_complete, None
            if cb is not None:
                cb()
            return
        if exc is not None:
            traceback.print_exception(type(exc), exc, exc.__traceback__)
            msgs = ([{"type": "http.response.body", "body": b"", "more_body": False}]
                    if self.started else plain_response(500, b"Internal Server Error"))
        elif not self.started:
            msgs = plain_response(500, b"The application returned no response.")
        else:
            msgs = [{"type": "http.response.body", "body": b"", "more_body": False}]
        self.complete = True
        for m in msgs:
            self.conn.push(self, m, m is msgs[-1])
        self._finish_response()


class ReplicaChannel(FramedProtocol):
    """One authenticated connection from a proxy to this replica."""

    def __init__(self, run: Runner) -> None:
        super().__init__(self._message, self._lost)
        self._run = run
        self._exchanges: dict[int, ChannelExchange] = {}
        self._batch: dict[int, list] = {}
        self._final: set[int] = set()
        self._batch_scheduled = False  # a send at the end of this loop turn
        self._timer: asyncio.TimerHandle | None = None  # a deferred send (streams)
        self._last_send = 0.0

    def _message(self, msg: tuple) -> None:
        op = msg[0]
        if op == REQUEST:
            _, rid, meta, parts, body = msg
            ex = ChannelExchange(self, rid, body)
            self._exchanges[rid] = ex
            ex.task = asyncio.get_running_loop().create_task(
                self._run(ex, meta, build_scope(parts)))
        elif op == CANCEL:
            ex = self._exchanges.pop(msg[1], None)
            if ex is not None:
                ex.cancel()
        elif op == ACK:
            ex = self._exchanges.get(msg[1])
            if ex is not None:
                ex.acked(msg[2])

    def _lost(self) -> None:
        exchanges, self._exchanges = self._exchanges, {}
        for ex in exchanges.values():
            ex.cancel()

    def push(self, ex: ChannelExchange, message: dict, final: bool) -> None:
        """Queue `message` for the proxy; the turn's messages leave together. While
        messages keep coming (a fast stream), sends are at least COALESCE_S apart: a
        thousand small chunks make tens of writes, not a thousand."""
        batch = self._batch.get(ex.rid)
        if batch is None:
            self._batch[ex.rid] = [message]
        else:
            batch.append(message)
        if final:
            self._final.add(ex.rid)
            self._exchanges.pop(ex.rid, None)
        if self._batch_scheduled:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_send + COALESCE_S - loop.time()
        if final or wait <= 0:
            self._batch_scheduled = True
            loop.call_soon(self._send_batch)
        elif self._timer is None:
            self._timer = loop.call_later(wait, self._send_batch)

    def _send_batch(self) -> None:
        self._batch_scheduled = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._batch:
            return
        self._last_send = asyncio.get_running_loop().time()
        batch, self._batch = self._batch, {}
        final, self._final = self._final, set()
        last = len(batch) - 1
        for i, (rid, msgs) in enumerate(batch.items()):
            self.send((MESSAGES, rid, msgs, rid in final), now=i == last)


async def run_exchange(ex: ChannelExchange, app: Any, scope: dict) -> None:
    """Run the ASGI app for one exchange and close the exchange whatever happens."""
    exc: BaseException | None = None
    try:
        await app(scope, ex.receive, ex.send)
    except asyncio.CancelledError:
        if not ex.final_sent:
            raise
    except Exception as e:  # noqa: BLE001 - reported to the client as a 500
        exc = e
    finally:
        ex.finished(exc)
