"""The dashboard's gate: the cluster token is checked before any request byte is used.

A pure ASGI wrapper around the app. It reads only the request line and headers (which
uvicorn bounds, 64 KiB), compares `Authorization: Bearer <token>` in constant time, and
answers 401 without ever reading the body of a request that fails. Bodies are bounded
too: a Content-Length over the limit is refused (413) unread, and a body sent without one
is cut off at the limit. Only the page that asks for the token and the UI's static
assets (`/ui/…`) are open. A WebSocket upgrade needs the same header; without it the
upgrade is refused before the app sees the connection or reads a frame.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

OPEN_PATHS = frozenset({"/", "/favicon.ico"})
# The UI's static files (scripts and styles shipped in the package; no cluster data).
OPEN_PREFIX = "/ui/"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b"Bearer"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class TokenGate:
    """ASGI middleware: the bearer token or 401; bodies over `max_body` bytes: 413."""

    def __init__(self, app: Any, token: str, max_body: int) -> None:
        self.app = app
        self._expected = f"bearer {token}".encode()
        self.max_body = max_body

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope.get("headers") or ():
            if key == b"authorization":
                # The scheme is case-insensitive (RFC 7235), the token is not.
                got = value[:7].lower() + value[7:]
                return hmac.compare_digest(got, self._expected)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if (path in OPEN_PATHS or path.startswith(OPEN_PREFIX)) and \
                scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if not self._authorized(scope):
            await _refuse(send, 401, "missing or wrong cluster token: send "
                                     "'Authorization: Bearer <token>'")
            return
        length = None
        for key, value in scope.get("headers") or ():
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await _refuse(send, 400, "bad Content-Length")
                    return
        if length is not None and (length < 0 or length > self.max_body):
            await _refuse(send, 413, f"request body over {self.max_body} bytes")
            return
        await self.app(scope, self._bounded(receive, send), send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket is let through only with the token in its upgrade request's
        headers; otherwise the upgrade is answered 401 (or closed, 1008, where the server
        cannot send a denial response) before the app or any frame is reached."""
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        if "websocket.http.response" not in (scope.get("extensions") or {}):
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": "missing or wrong cluster token: send "
                                    "'Authorization: Bearer <token>'"}).encode()
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "websocket.http.response.body", "body": body})

    def _bounded(self, receive: Receive, send: Send) -> Receive:
        seen = 0
        limit = self.max_body

        async def bounded() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return bounded


class BodyTooLarge(Exception):
    """A body without Content-Length grew past the limit; the request is dropped."""


__all__ = ["OPEN_PATHS", "OPEN_PREFIX", "BodyTooLarge", "TokenGate"]
