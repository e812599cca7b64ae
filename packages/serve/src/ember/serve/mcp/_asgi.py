"""Streamable HTTP for a low-level mcp Server, as a Starlette app served by a replica."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.routing import Route


class _Endpoint:
    """An ASGI endpoint (a class instance, so Starlette passes scope/receive/send)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.manager.handle_request(scope, receive, send)


def streamable_http_app(server: Any, *, path: str = "/mcp", stateless: bool = False,
                        json_response: bool = False,
                        on_startup: Callable[[], Awaitable[None]] | None = None,
                        on_shutdown: Callable[[], Awaitable[None]] | None = None) -> Starlette:
    """Serve `server` (an mcp.server.lowlevel.Server) over Streamable HTTP at `path`."""
    manager = StreamableHTTPSessionManager(app=server, stateless=stateless,
                                           json_response=json_response)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if on_startup is not None:
            await on_startup()
        try:
            async with manager.run():
                yield
        finally:
            if on_shutdown is not None:
                await on_shutdown()

    return Starlette(routes=[Route(path, endpoint=_Endpoint(manager), methods=["GET", "POST",
                                                                             "DELETE"])],
                     lifespan=lifespan)
