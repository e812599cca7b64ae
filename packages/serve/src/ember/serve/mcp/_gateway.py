"""An MCP gateway: one Streamable HTTP endpoint with the tools of several MCP deployments.

Tools are named `<server>_<tool>` (the prefix can be turned off when names do not
clash). Calls reach the upstream deployments through their handles, so they are routed,
queued and autoscaled like any other Serve request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ember.serve._ingress import ASGI_ATTR, InstanceApp
from ember.serve.deployment import Application, deployment
from ember.serve.mcp._asgi import streamable_http_app


class MCPGatewayDeployment:
    """Aggregates the tools of upstream MCP deployments (handles) behind one endpoint."""

    def __init__(self, upstreams: dict[str, Any], prefix_tools: bool = True,
                 separator: str = "_", name: str = "mcp-gateway") -> None:
        from mcp import types
        from mcp.server.lowlevel import Server

        self._upstreams = upstreams
        self._prefix = prefix_tools
        self._sep = separator
        self._routes: dict[str, tuple[str, str]] = {}  # exposed tool -> (upstream, tool)

        async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
            return types.ListToolsResult(tools=await self._tools())

        async def call_tool(_ctx: Any, params: types.CallToolRequestParams
                            ) -> types.CallToolResult:
            result = await self.call_tool(params.name, params.arguments or {})
            return types.CallToolResult.model_validate(result)

        self.server = Server(name, on_list_tools=list_tools, on_call_tool=call_tool)
        self.asgi_app = streamable_http_app(self.server)

    async def _tools(self) -> list[Any]:
        from mcp import types

        names = list(self._upstreams)
        listed = await asyncio.gather(*[self._upstreams[n].list_tools.remote() for n in names])
        tools, routes = [], {}
        for upstream, upstream_tools in zip(names, listed, strict=True):
            for t in upstream_tools:
                exposed = f"{upstream}{self._sep}{t['name']}" if self._prefix else t["name"]
                if exposed in routes:
                    raise ValueError(f"Two upstream servers offer a tool named {exposed!r}; "
                                     "use prefix_tools=True.")
                routes[exposed] = (upstream, t["name"])
                tools.append(types.Tool.model_validate({**t, "name": exposed}))
        self._routes = routes
        return tools

    async def list_tools(self) -> list[dict]:
        return [t.model_dump(mode="json", by_alias=True, exclude_none=True)
                for t in await self._tools()]

    async def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        if name not in self._routes:
            await self._tools()
        if name not in self._routes:
            return {"content": [{"type": "text", "text": f"Unknown tool: {name}"}],
                    "isError": True}
        upstream, tool = self._routes[name]
        return await self._upstreams[upstream].call_tool.remote(tool, arguments or {})


setattr(MCPGatewayDeployment, ASGI_ATTR, InstanceApp("asgi_app"))


def build_mcp_gateway_app(servers: dict[str, Application], *, prefix_tools: bool = True,
                          separator: str = "_", name: str = "MCPGateway",
                          **deployment_options: Any) -> Application:
    """An Application whose endpoint offers the tools of every server in `servers`.

    `servers` maps a short name to an MCP Application (from build_mcp_app or
    build_stdio_mcp_app); they are deployed with the gateway and reached by handle.
    """
    d = deployment(MCPGatewayDeployment, name=name, **deployment_options)
    return d.bind(dict(servers), prefix_tools, separator, name)
