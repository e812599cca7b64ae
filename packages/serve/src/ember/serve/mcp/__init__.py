"""MCP on Serve: MCP servers over Streamable HTTP, stdio servers bridged to HTTP, and a
gateway that puts the tools of several MCP services behind one endpoint. Built on the
`mcp` SDK 2.x, whose MCPServer is FastMCP renamed (same decorators).

    from mcp.server.mcpserver import MCPServer
    from ember import serve
    from ember.serve.mcp import build_mcp_app

    mcp = MCPServer("weather")

    @mcp.tool()
    def forecast(city: str) -> str:
        return f"Sunny in {city}"

    serve.run(build_mcp_app(mcp, autoscaling_config={"min_replicas": 1, "max_replicas": 4}),
              name="weather", route_prefix="/weather")   # mcp.Client(".../weather/mcp")
"""

from ember.serve.mcp._gateway import MCPGatewayDeployment, build_mcp_gateway_app
from ember.serve.mcp._server import MCPServerDeployment, build_mcp_app
from ember.serve.mcp._stdio import StdioMCPDeployment, build_stdio_mcp_app

__all__ = [
    "MCPGatewayDeployment",
    "MCPServerDeployment",
    "StdioMCPDeployment",
    "build_mcp_app",
    "build_mcp_gateway_app",
    "build_stdio_mcp_app",
]
