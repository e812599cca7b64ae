"""Serving an MCP server built with the `mcp` SDK (MCPServer, the FastMCP-style decorator
API of mcp 2.x, or a low-level Server) as a Serve deployment."""

from __future__ import annotations

import sys
from typing import Any

from ember.serve._ingress import ASGI_ATTR, GlobalRef, InstanceApp
from ember.serve.deployment import Application, deployment
from ember.serve.mcp._session import HeldSession


class MCPServerDeployment:
    """A replica serving one MCP server over Streamable HTTP at `<route_prefix>/mcp`.

    Each replica builds its own server. Sessions (Mcp-Session-Id, made by clients that
    use the initialize handshake) live on the replica that opened them, and the proxy
    sends their requests there; requests of the stateless 2026-07-28 protocol go to any
    replica. Other deployments reach the server through a handle:
    `mcp_request(method, params)`, `list_tools()` and `call_tool(name, arguments)`, which
    the MCP gateway uses.
    """

    def __init__(self, server: Any, stateless_http: bool | None = None,
                 json_response: bool | None = None) -> None:
        self.server = _resolve(server)
        self.asgi_app = self.server.streamable_http_app(
            streamable_http_path="/mcp", stateless_http=bool(stateless_http),
            json_response=bool(json_response))
        self._local = HeldSession(self._connect)

    def _connect(self) -> Any:
        from mcp import Client

        return Client(self.server)  # in-process, no transport

    async def mcp_request(self, method: str, params: dict | None = None) -> dict:
        """Run one MCP request (`tools/list`, `tools/call`, ...) on this replica's server."""
        return await self._local.request(method, params)

    async def list_tools(self) -> list[dict]:
        return (await self.mcp_request("tools/list"))["tools"]

    async def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        return await self.mcp_request("tools/call", {"name": name, "arguments": arguments or {}})


setattr(MCPServerDeployment, ASGI_ATTR, InstanceApp("asgi_app"))


def _is_server(obj: Any) -> bool:
    from mcp.server.lowlevel import Server
    from mcp.server.mcpserver import MCPServer

    return isinstance(obj, MCPServer | Server)


def _resolve(server: Any) -> Any:
    if isinstance(server, GlobalRef):
        server = server.resolve()
    elif not _is_server(server) and callable(server):
        server = server()
    if not _is_server(server):
        raise TypeError(f"Expected an mcp MCPServer (or low-level Server), or a function that "
                        f"builds one, got {type(server).__name__}.")
    return server


def _shippable(server: Any, depth: int = 2) -> Any:
    """A module-level server instance travels by name (servers do not pickle)."""
    if not _is_server(server):
        return server  # a factory: pickled like any function
    frame = sys._getframe(depth)
    module = frame.f_globals.get("__name__")
    for name, value in frame.f_globals.items():
        if value is server and module and module != "__main__":
            return GlobalRef(module, name)
    raise TypeError("Pass the MCP server as a module-level object of an importable module, "
                    "or as a function that builds it (servers cannot be pickled).")


def build_mcp_app(server: Any, *, name: str = "MCPServer", stateless_http: bool | None = None,
                  json_response: bool | None = None, **deployment_options: Any) -> Application:
    """An Application serving an MCP server over Streamable HTTP.

    `server` is an `mcp.server.mcpserver.MCPServer` (mcp 2's FastMCP: tools, resources
    and prompts declared with its decorators) or a low-level `mcp.server.lowlevel.Server`,
    defined at module level, or a function returning one.
    `deployment_options` are those of `@serve.deployment` (num_replicas,
    autoscaling_config, ray_actor_options, ...). Run it with
    `serve.run(app, route_prefix="/weather")`; clients connect to `/weather/mcp`.
    """
    d = deployment(MCPServerDeployment, name=name, **deployment_options)
    return d.bind(_shippable(server), stateless_http, json_response)
