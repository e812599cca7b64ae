"""Bridging an MCP server that speaks stdio (a command line) to Streamable HTTP.

Each replica starts the command once and forwards every MCP request it receives over
HTTP to it; the features the command's server offers (tools, resources, prompts) are
the ones the HTTP endpoint advertises.
"""

from __future__ import annotations

import sys
from typing import Any

from ember.serve._ingress import ASGI_ATTR, InstanceApp
from ember.serve.deployment import Application, deployment
from ember.serve.mcp._asgi import streamable_http_app
from ember.serve.mcp._session import HeldSession, forward_handlers


class StdioMCPDeployment:
    """A replica running `command args...` as a stdio MCP server, served over HTTP."""

    def __init__(self, command: str, args: list[str], env: dict[str, str] | None = None,
                 cwd: str | None = None, name: str = "stdio-bridge",
                 stateless_http: bool = False) -> None:
        from mcp import StdioServerParameters
        from mcp.server.lowlevel import Server

        self._params = StdioServerParameters(command=command, args=list(args), env=env,
                                             cwd=cwd)
        self._held = HeldSession(self._connect)
        self.server = Server(name)
        self.asgi_app = streamable_http_app(self.server, stateless=stateless_http,
                                            on_startup=self._start,
                                            on_shutdown=self._held.close)

    def _connect(self) -> Any:
        from mcp import Client, stdio_client

        # errlog: stdio_client's default is the sys.stderr of import time, which in a
        # worker may be a stream inherited from the driver and closed since. The client
        # asks the command for the 2026-07-28 protocol and falls back to the initialize
        # handshake for older servers.
        return Client(stdio_client(self._params, errlog=sys.stderr))

    async def _start(self) -> None:
        forward_handlers(self.server, self._held, await self._held.capabilities())

    async def mcp_request(self, method: str, params: dict | None = None) -> dict:
        """Forward one MCP request to the command's server."""
        return await self._held.request(method, params)

    async def list_tools(self) -> list[dict]:
        return (await self.mcp_request("tools/list"))["tools"]

    async def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        return await self.mcp_request("tools/call", {"name": name, "arguments": arguments or {}})


setattr(StdioMCPDeployment, ASGI_ATTR, InstanceApp("asgi_app"))


def build_stdio_mcp_app(command: str, args: list[str] | None = None, *,
                        env: dict[str, str] | None = None, cwd: str | None = None,
                        name: str = "StdioMCPServer", stateless_http: bool = False,
                        **deployment_options: Any) -> Application:
    """An Application that serves a stdio MCP server (`command args...`) over HTTP.

    Each replica runs its own copy of the command. `deployment_options` are those of
    `@serve.deployment`.
    """
    d = deployment(StdioMCPDeployment, name=name, **deployment_options)
    return d.bind(command, list(args or []), env, cwd, name, stateless_http)
