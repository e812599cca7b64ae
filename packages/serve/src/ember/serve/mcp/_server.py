"""Serving an MCP server built with the `mcp` SDK (FastMCP) as a Serve deployment."""

from __future__ import annotations

import sys
from typing import Any

from ember.serve._ingress import ASGI_ATTR, GlobalRef, InstanceApp
from ember.serve.deployment import Application, deployment
from ember.serve.mcp._session import HeldSession


class MCPServerDeployment:
    """A replica serving one FastMCP server over Streamable HTTP at `<route_prefix>/mcp`.

    Each replica builds its own server. Sessions (Mcp-Session-Id) live on the replica
    that opened them, and the proxy sends their requests there. Other deployments reach
    the server through a handle: `mcp_request(method, params)`, `list_tools()` and
    `call_tool(name, arguments)`, which the MCP gateway uses.
    """

    def __init__(self, server: Any, stateless_http: bool | None = None,
                 json_response: bool | None = None) -> None:
        srv = _resolve(server)
        if stateless_http is not None:
            srv.settings.stateless_http = stateless_http
        if json_response is not None:
            srv.settings.json_response = json_response
        self.server = srv
        self.asgi_app = srv.streamable_http_app()
        self._local = HeldSession(self._connect)

    def _connect(self) -> Any:
        from mcp.shared.memory import create_connected_server_and_client_session

        return create_connected_server_and_client_session(self.server)

    async def mcp_request(self, method: str, params: dict | None = None) -> dict:
        """Run one MCP request (`tools/list`, `tools/call`, ...) on this replica's server."""
        return await self._local.request(method, params)

    async def list_tools(self) -> list[dict]:
        return (await self.mcp_request("tools/list"))["tools"]

    async def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        return await self.mcp_request("tools/call", {"name": name, "arguments": arguments or {}})


setattr(MCPServerDeployment, ASGI_ATTR, InstanceApp("asgi_app"))


def _resolve(server: Any) -> Any:
    if isinstance(server, GlobalRef):
        return server.resolve()
    if hasattr(server, "streamable_http_app"):
        return server
    if callable(server):
        return server()
    raise TypeError(f"Expected a FastMCP server or a function that builds one, got "
                    f"{type(server).__name__}.")


def _shippable(server: Any, depth: int = 2) -> Any:
    """A module-level server instance travels by name (servers do not pickle)."""
    if not hasattr(server, "streamable_http_app"):
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
    """An Application serving a FastMCP server over Streamable HTTP.

    `server` is a FastMCP instance defined at module level, or a function returning one.
    `deployment_options` are those of `@serve.deployment` (num_replicas,
    autoscaling_config, ray_actor_options, ...). Run it with
    `serve.run(app, route_prefix="/weather")`; clients connect to `/weather/mcp`.
    """
    d = deployment(MCPServerDeployment, name=name, **deployment_options)
    return d.bind(_shippable(server), stateless_http, json_response)
