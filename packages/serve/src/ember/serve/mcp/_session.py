"""A long-lived MCP ClientSession held by a replica, and generic JSON-RPC passthrough.

MCP sessions are async context managers that must be entered and left in one task, so
a background task holds each one open for the replica's lifetime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp import types

# JSON-RPC method -> (request type, result type) for what Serve forwards.
METHODS: dict[str, tuple[type, type]] = {
    "tools/list": (types.ListToolsRequest, types.ListToolsResult),
    "tools/call": (types.CallToolRequest, types.CallToolResult),
    "resources/list": (types.ListResourcesRequest, types.ListResourcesResult),
    "resources/templates/list": (types.ListResourceTemplatesRequest,
                                 types.ListResourceTemplatesResult),
    "resources/read": (types.ReadResourceRequest, types.ReadResourceResult),
    "prompts/list": (types.ListPromptsRequest, types.ListPromptsResult),
    "prompts/get": (types.GetPromptRequest, types.GetPromptResult),
    "completion/complete": (types.CompleteRequest, types.CompleteResult),
}


class HeldSession:
    """Opens a ClientSession on first use and keeps it open until `close()`."""

    def __init__(self, open_session: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._open = open_session
        self._session: Any = None
        self._error: BaseException | None = None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.server_info: Any = None

    async def get(self) -> Any:
        if self._ready is None:
            self._ready = asyncio.Event()
            self._stop = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._hold())
        await self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"Could not open the MCP session: {self._error!r}") from self._error
        return self._session

    async def _hold(self) -> None:
        try:
            async with self._open() as opened:
                session, self.server_info = opened if isinstance(opened, tuple) else (opened, None)
                self._session = session
                self._ready.set()
                await self._stop.wait()
        except BaseException as e:  # noqa: BLE001 - reported to every caller of get()
            self._error = e
        finally:
            self._ready.set()

    async def request(self, method: str, params: dict | None) -> dict:
        """Send one JSON-RPC request; returns the result as plain JSON data."""
        if method not in METHODS:
            raise ValueError(f"Unsupported MCP method {method!r}; supported: {sorted(METHODS)}.")
        req_type, result_type = METHODS[method]
        req = req_type.model_validate({"method": method, "params": params or None}
                                      if params else {"method": method})
        result = await self.forward(req, result_type)
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def forward(self, request: Any, result_type: type) -> Any:
        session = await self.get()
        # A request parsed by a server keeps the JSON-RPC envelope (jsonrpc, id) as extra
        # fields; send only what the request itself is.
        clean = type(request).model_validate(request.model_dump(
            by_alias=True, mode="json", exclude_none=True, include={"method", "params"}))
        return await session.send_request(types.ClientRequest(clean), result_type)

    async def close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, Exception):  # noqa: BLE001 - best effort at exit
                self._task.cancel()


def forward_handlers(server: Any, held: HeldSession, capabilities: Any) -> None:
    """Register passthrough handlers on a low-level mcp Server for what `capabilities`
    (the upstream's) offers, so the server advertises exactly those features."""
    wanted = []
    if capabilities is None or capabilities.tools is not None:
        wanted += ["tools/list", "tools/call"]
    if capabilities is not None and capabilities.resources is not None:
        wanted += ["resources/list", "resources/templates/list", "resources/read"]
    if capabilities is not None and capabilities.prompts is not None:
        wanted += ["prompts/list", "prompts/get"]
    if capabilities is not None and getattr(capabilities, "completions", None) is not None:
        wanted += ["completion/complete"]
    for method in wanted:
        req_type, result_type = METHODS[method]
        server.request_handlers[req_type] = _passthrough(held, result_type)


def _passthrough(held: HeldSession, result_type: type) -> Callable:
    async def handler(req: Any) -> types.ServerResult:
        return types.ServerResult(await held.forward(req, result_type))

    return handler
