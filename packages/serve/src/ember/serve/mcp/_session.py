"""A long-lived `mcp.Client` held by a replica, and generic JSON-RPC passthrough.

MCP clients are async context managers that must be entered and left in one task, so
a background task holds each one open for the replica's lifetime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp import types


@dataclass(frozen=True)
class Method:
    """What Serve forwards for one JSON-RPC method: its request, params and result types."""

    request: type
    params: type
    result: type


METHODS: dict[str, Method] = {
    "tools/list": Method(types.ListToolsRequest, types.PaginatedRequestParams,
                         types.ListToolsResult),
    "tools/call": Method(types.CallToolRequest, types.CallToolRequestParams,
                         types.CallToolResult),
    "resources/list": Method(types.ListResourcesRequest, types.PaginatedRequestParams,
                             types.ListResourcesResult),
    "resources/templates/list": Method(types.ListResourceTemplatesRequest,
                                       types.PaginatedRequestParams,
                                       types.ListResourceTemplatesResult),
    "resources/read": Method(types.ReadResourceRequest, types.ReadResourceRequestParams,
                             types.ReadResourceResult),
    "prompts/list": Method(types.ListPromptsRequest, types.PaginatedRequestParams,
                           types.ListPromptsResult),
    "prompts/get": Method(types.GetPromptRequest, types.GetPromptRequestParams,
                          types.GetPromptResult),
    "completion/complete": Method(types.CompleteRequest, types.CompleteRequestParams,
                                  types.CompleteResult),
}


class HeldSession:
    """Opens an `mcp.Client` on first use and keeps it open until `close()`."""

    def __init__(self, open_client: Callable[[], Any]) -> None:
        self._open = open_client
        self._client: Any = None
        self._error: BaseException | None = None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def get(self) -> Any:
        """The connected `mcp.Client` (connecting on first use)."""
        if self._ready is None:
            self._ready = asyncio.Event()
            self._stop = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._hold())
        await self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"Could not open the MCP session: {self._error!r}") from self._error
        return self._client

    async def capabilities(self) -> types.ServerCapabilities:
        """What the connected server offers."""
        return (await self.get()).server_capabilities

    async def _hold(self) -> None:
        try:
            async with self._open() as client:
                self._client = client
                self._ready.set()
                await self._stop.wait()
        except BaseException as e:  # noqa: BLE001 - reported to every caller of get()
            self._error = e
        finally:
            self._ready.set()

    async def request(self, method: str, params: dict | None) -> dict:
        """Send one JSON-RPC request; returns the result as plain JSON data."""
        result = await self.forward(method, params)
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def forward(self, method: str, params: dict | None) -> Any:
        """Send one request and return its typed result."""
        if method not in METHODS:
            raise ValueError(f"Unsupported MCP method {method!r}; supported: {sorted(METHODS)}.")
        spec = METHODS[method]
        # `_meta` belongs to the hop it came on (its protocol version, progress token).
        body = {k: v for k, v in (params or {}).items() if k != "_meta"}
        req = spec.request.model_validate({"method": method, "params": body} if body
                                          else {"method": method})
        client = await self.get()
        return await client.session.send_request(req, spec.result)

    async def close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, Exception):  # noqa: BLE001 - best effort at exit
                self._task.cancel()


def forward_handlers(server: Any, held: HeldSession,
                     capabilities: types.ServerCapabilities | None) -> None:
    """Register passthrough handlers on a low-level mcp Server for what `capabilities`
    (the upstream's) offers, so the server advertises exactly those features."""
    wanted = []
    if capabilities is None or capabilities.tools is not None:
        wanted += ["tools/list", "tools/call"]
    if capabilities is not None and capabilities.resources is not None:
        wanted += ["resources/list", "resources/templates/list", "resources/read"]
    if capabilities is not None and capabilities.prompts is not None:
        wanted += ["prompts/list", "prompts/get"]
    if capabilities is not None and capabilities.completions is not None:
        wanted += ["completion/complete"]
    for method in wanted:
        server.add_request_handler(method, METHODS[method].params, _passthrough(held, method))


def _passthrough(held: HeldSession, method: str) -> Callable:
    async def handler(_ctx: Any, params: Any) -> Any:
        data = params.model_dump(mode="json", by_alias=True, exclude_none=True) if params else {}
        return await held.forward(method, data)

    return handler
