"""Running ASGI apps inside a replica for requests the proxy forwards.

The proxy sends the request (scope and whole body) in one actor call. A response that
completes promptly comes back in that call's reply; one that streams (its first body
message has more_body=True) is handed back as a stream id, and the proxy pulls the rest
in batches with `http_next`. WebSockets work the same way in both directions.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


class HttpExchange:
    """One HTTP request/response between the proxy and an ASGI app."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._body_sent = False
        self.messages: list[dict] = []
        self.event = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.started = False
        self.streaming = False
        self.complete = False
        self.task: asyncio.Task | None = None

    async def receive(self) -> dict:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if self.disconnected.is_set() and not self.complete:
            raise OSError("The client disconnected.")
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
        elif kind == "http.response.body":
            if message.get("more_body"):
                self.streaming = True
            else:
                self.complete = True
        self.messages.append(message)
        self.event.set()

    def take(self) -> list[dict]:
        out, self.messages = self.messages, []
        self.event.clear()
        return out

    def finished(self) -> bool:
        return self.complete or (self.task is not None and self.task.done())

    def error_messages(self, exc: BaseException) -> list[dict]:
        """What to send when the app raised: a 500 if nothing was sent yet."""
        traceback.print_exception(type(exc), exc, exc.__traceback__)
        if self.started:
            return [{"type": "http.response.body", "body": b"", "more_body": False}]
        return plain_response(500, b"Internal Server Error")


def plain_response(status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8",
                   headers: list | None = None) -> list[dict]:
    hdrs = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    return [{"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])},
            {"type": "http.response.body", "body": body, "more_body": False}]


class WebSocketSession:
    """One WebSocket between the proxy and an ASGI app."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: list[dict] = []
        self.event = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def send(self, message: dict) -> None:
        self.outbox.append(message)
        self.event.set()

    def take(self) -> list[dict]:
        out, self.outbox = self.outbox, []
        self.event.clear()
        return out


class AsgiHost:
    """The open streams and websockets of one replica."""

    def __init__(self) -> None:
        self.streams: dict[str, HttpExchange] = {}
        self.sockets: dict[str, WebSocketSession] = {}

    async def http(self, app: ASGIApp, scope: dict, body: bytes,
                   on_done: Callable[[], None]) -> tuple:
        ex = HttpExchange(body)
        ex.task = asyncio.ensure_future(app(scope, ex.receive, ex.send))
        ex.task.add_done_callback(lambda _t: ex.event.set())
        try:
            while not (ex.streaming or ex.finished()):
                await ex.event.wait()
                if not (ex.streaming or ex.finished()):
                    ex.event.clear()
        except asyncio.CancelledError:
            # The call was cancelled (the client left, or the request timed out): so is
            # the app, which sees asyncio.CancelledError.
            ex.disconnected.set()
            ex.task.cancel()
            raise
        if ex.finished() and not ex.streaming:
            on_done()
            return ("done", self._final(ex))
        sid = uuid.uuid4().hex
        self.streams[sid] = ex

        def finish(_t: Any) -> None:
            on_done()

        ex.task.add_done_callback(finish)
        return ("stream", sid, ex.take())

    def _final(self, ex: HttpExchange) -> list[dict]:
        msgs = ex.take()
        if ex.complete:
            ex.disconnected.set()  # let a still-running app (background tasks) finish
            return msgs
        exc = ex.task.exception() if ex.task.done() and not ex.task.cancelled() else None
        if exc is not None:
            return msgs + ex.error_messages(exc)
        if not ex.started:
            return msgs + plain_response(500, b"The application returned no response.")
        return msgs + [{"type": "http.response.body", "body": b"", "more_body": False}]

    async def http_next(self, sid: str) -> tuple[list[dict], bool]:
        ex = self.streams.get(sid)
        if ex is None:
            return [], True
        while not ex.messages and not ex.finished():
            await ex.event.wait()
            if not ex.messages and not ex.finished():
                ex.event.clear()
        if ex.finished():
            self.streams.pop(sid, None)
            return self._final(ex), True
        return ex.take(), False

    def http_close(self, sid: str) -> None:
        ex = self.streams.pop(sid, None)
        if ex is not None:
            ex.disconnected.set()
            if ex.task is not None and not ex.task.done():
                ex.task.cancel()

    # -- websockets -------------------------------------------------------------------

    def ws_open(self, app: ASGIApp, scope: dict, on_done: Callable[[], None]) -> str:
        ws = WebSocketSession()
        ws.inbox.put_nowait({"type": "websocket.connect"})
        ws.task = asyncio.ensure_future(app(scope, ws.inbox.get, ws.send))
        ws.task.add_done_callback(lambda _t: (ws.event.set(), on_done()))
        sid = uuid.uuid4().hex
        self.sockets[sid] = ws
        return sid

    def ws_push(self, sid: str, message: dict) -> None:
        ws = self.sockets.get(sid)
        if ws is not None:
            ws.inbox.put_nowait(message)

    async def ws_pull(self, sid: str) -> tuple[list[dict], bool]:
        ws = self.sockets.get(sid)
        if ws is None:
            return [], True
        while not ws.outbox and not ws.task.done():
            await ws.event.wait()
            if not ws.outbox and not ws.task.done():
                ws.event.clear()
        if ws.task.done():
            self.sockets.pop(sid, None)
            out = ws.take()
            exc = None if ws.task.cancelled() else ws.task.exception()
            if exc is not None:
                traceback.print_exception(type(exc), exc, exc.__traceback__)
            if not any(m["type"] == "websocket.close" for m in out):
                out.append({"type": "websocket.close", "code": 1011 if exc else 1000})
            return out, True
        return ws.take(), False


# -- plain callables over HTTP ------------------------------------------------------------


def to_response(value: Any) -> Any:
    """Turn a deployment's return value into a Starlette Response (Ray's rules)."""
    from starlette.responses import Response, StreamingResponse

    if isinstance(value, Response):
        return value
    if inspect.isgenerator(value) or inspect.isasyncgen(value):
        return StreamingResponse(value)
    if value is None:
        return Response(b"", media_type="text/plain")
    if isinstance(value, bytes):
        return Response(value, media_type="text/plain")
    if isinstance(value, str):
        return Response(value.encode("utf-8"), media_type="text/plain; charset=utf-8")
    from fastapi.encoders import jsonable_encoder

    body = json.dumps(jsonable_encoder(value), separators=(",", ":")).encode()
    return Response(body, media_type="application/json")


def request_asgi(call: Callable[[Any], Awaitable[Any]]) -> ASGIApp:
    """An ASGI app that passes a Starlette Request to `call` and sends what it returns."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        from starlette.requests import Request

        if scope["type"] == "websocket":
            from starlette.websockets import WebSocket

            await call(WebSocket(scope, receive, send))
            return
        first = await receive()
        pending = [first]

        async def replay() -> dict:
            return pending.pop() if pending else await receive()

        request = Request(scope, replay)
        if first["type"] == "http.request" and not first.get("more_body", False):
            # The whole body is here: cache it as Starlette does after request.body(), so
            # reading it costs no copy (Starlette joins its chunks with a trailing b"").
            request._body = first.get("body", b"")
        result = await call(request)
        await to_response(result)(scope, receive, send)

    return app


# -- lifespan -----------------------------------------------------------------------------


class Lifespan:
    """Drives an ASGI app's lifespan protocol: startup at replica start, shutdown at stop.

    Apps that do not speak lifespan (they raise on the scope) are left alone.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.supported = False

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": {}}
        self.state = scope["state"]
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        getter = asyncio.ensure_future(self.outbox.get())
        done, _ = await asyncio.wait({getter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            return  # the app does not handle lifespan
        msg = getter.result()
        if msg["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"ASGI lifespan startup failed: {msg.get('message', '')}")
        self.supported = True

    async def shutdown(self, timeout: float = 5.0) -> None:
        if not self.supported or self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.outbox.get(), timeout)
        except (TimeoutError, Exception):  # noqa: BLE001 - best effort at exit
            pass
