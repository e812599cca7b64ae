"""MCP on Serve, checked with the `mcp` SDK's own clients over Streamable HTTP: `mcp.Client`
(the 2026-07-28 protocol, stateless) and a ClientSession that opens a session with the
initialize handshake (as mcp 1.x clients do)."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer

from ember import serve
from ember.serve.mcp import build_mcp_app, build_mcp_gateway_app, build_stdio_mcp_app

NO_CPU = {"num_cpus": 0}

# Declared FastMCP-style: mcp 2 renamed FastMCP to MCPServer and kept its decorators.
math_server = MCPServer("math")


@math_server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@math_server.tool()
def whoami() -> int:
    """The pid of the replica that runs the call."""
    return os.getpid()


@math_server.resource("config://units")
def units() -> str:
    return "metric"


@math_server.prompt()
def explain(topic: str) -> str:
    return f"Explain {topic} simply."


STDIO_SERVER = textwrap.dedent('''
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("text")

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper() + "!"

    @server.tool()
    def length(text: str) -> int:
        return len(text)

    if __name__ == "__main__":
        server.run("stdio")
''')


@pytest.fixture(scope="module")
def stdio_script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "text_server.py"
    path.write_text(STDIO_SERVER)
    return path


async def _session_calls(url: str, calls: list[tuple[str, dict]]) -> tuple[list, str]:
    """Calls in one session opened by the initialize handshake; returns the results and
    the Mcp-Session-Id the server gave."""
    session_ids: set[str] = set()

    async def record(response: httpx2.Response) -> None:
        if sid := response.headers.get("mcp-session-id"):
            session_ids.add(sid)

    async with httpx2.AsyncClient(event_hooks={"response": [record]}) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        out = []
        for name, args in calls:
            result = await session.call_tool(name, args)
            assert not result.is_error, result
            out.append(result.structured_content.get("result") if result.structured_content
                       else result.content[0].text)
    assert len(session_ids) == 1, session_ids
    return out, session_ids.pop()


async def _client_calls(url: str, calls: list[tuple[str, dict]]) -> list:
    """Calls through `mcp.Client` (it negotiates the 2026-07-28 protocol)."""
    async with Client(url) as client:
        out = []
        for name, args in calls:
            result = await client.call_tool(name, args)
            assert not result.is_error, result
            out.append(result.structured_content.get("result") if result.structured_content
                       else result.content[0].text)
        return out


async def _list_tools(url: str) -> list[str]:
    async with Client(url) as client:
        return sorted(t.name for t in (await client.list_tools()).tools)


def test_fastmcp_style_server_tools_resources_and_prompts(serve_url, cleanup_apps):
    serve.run(build_mcp_app(math_server, ray_actor_options=NO_CPU), name="math",
              route_prefix="/math")
    url = f"{serve_url}/math/mcp"

    async def main(mode: str) -> str:
        async with Client(url, mode=mode) as client:
            assert client.server_info.name == "math"
            tools = {t.name for t in (await client.list_tools()).tools}
            assert tools == {"add", "whoami"}
            result = await client.call_tool("add", {"a": 2, "b": 40})
            assert result.structured_content == {"result": 42}
            resource = await client.read_resource("config://units")
            assert resource.contents[0].text == "metric"
            prompt = await client.get_prompt("explain", {"topic": "tides"})
            assert "tides" in prompt.messages[0].content.text
            return client.protocol_version

    # The 2026-07-28 protocol (per-request envelopes) and the initialize handshake.
    assert asyncio.run(main("auto")) == "2026-07-28"
    assert asyncio.run(main("legacy")) == "2025-11-25"
    # Other deployments (and the driver) reach the same server by handle.
    h = serve.get_app_handle("math")
    assert {t["name"] for t in h.list_tools.remote().result()} == {"add", "whoami"}
    assert h.call_tool.remote("add", {"a": 1, "b": 2}).result()["structuredContent"] == {
        "result": 3}
    units = h.mcp_request.remote("resources/read", {"uri": "config://units"}).result()
    assert units["contents"][0]["text"] == "metric"


def _lowlevel_server() -> Server:
    from mcp import types

    async def list_tools(_ctx, _params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(
            name="echo", input_schema={"type": "object",
                                       "properties": {"text": {"type": "string"}}})])

    async def call_tool(_ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(
            type="text", text=f"{params.name}: {params.arguments['text']}")])

    return Server("echo", on_list_tools=list_tools, on_call_tool=call_tool)


def test_lowlevel_server_from_a_factory(serve_url, cleanup_apps):
    serve.run(build_mcp_app(_lowlevel_server, stateless_http=True, json_response=True,
                            ray_actor_options=NO_CPU), name="echo", route_prefix="/echo")
    url = f"{serve_url}/echo/mcp"
    assert asyncio.run(_list_tools(url)) == ["echo"]
    assert asyncio.run(_client_calls(url, [("echo", {"text": "hi"})])) == ["echo: hi"]
    h = serve.get_app_handle("echo")
    assert h.call_tool.remote("echo", {"text": "x"}).result()["content"][0]["text"] == "echo: x"


def test_build_mcp_app_rejects_what_is_not_a_server():
    with pytest.raises(TypeError, match="module-level object"):
        build_mcp_app(MCPServer("local"))  # defined here, not importable by the replica


def test_sessions_stick_to_the_replica_that_holds_them(serve_url, cleanup_apps):
    app = build_mcp_app(math_server, ray_actor_options=NO_CPU,
                        autoscaling_config={"min_replicas": 2, "max_replicas": 3,
                                            "initial_replicas": 2})
    serve.run(app, name="math", route_prefix="/math")
    url = f"{serve_url}/math/mcp"

    async def main() -> list:
        return list(await asyncio.gather(*[_session_calls(url, [("whoami", {})] * 5)
                                           for _ in range(6)]))

    sessions = asyncio.run(main())
    for pids, session_id in sessions:
        assert session_id and len(set(pids)) == 1, (session_id, pids)


def test_stdio_server_bridged_to_http(serve_url, cleanup_apps, stdio_script):
    app = build_stdio_mcp_app(sys.executable, [str(stdio_script)], ray_actor_options=NO_CPU)
    serve.run(app, name="text", route_prefix="/text")
    url = f"{serve_url}/text/mcp"
    assert asyncio.run(_list_tools(url)) == ["length", "shout"]
    calls = [("shout", {"text": "hi"}), ("length", {"text": "four"})]
    assert asyncio.run(_client_calls(url, calls)) == ["HI!", 4]
    out, _ = asyncio.run(_session_calls(url, calls))
    assert out == ["HI!", 4]


def test_gateway_aggregates_tools(serve_url, cleanup_apps, stdio_script):
    gateway = build_mcp_gateway_app({
        "math": build_mcp_app(math_server, ray_actor_options=NO_CPU),
        "text": build_stdio_mcp_app(sys.executable, [str(stdio_script)],
                                    ray_actor_options=NO_CPU),
    }, ray_actor_options=NO_CPU)
    serve.run(gateway, name="gateway", route_prefix="/gateway")
    url = f"{serve_url}/gateway/mcp"
    assert asyncio.run(_list_tools(url)) == ["math_add", "math_whoami", "text_length",
                                             "text_shout"]
    calls = [("math_add", {"a": 3, "b": 4}), ("text_shout", {"text": "ok"})]
    assert asyncio.run(_client_calls(url, calls)) == [7, "OK!"]
    out, _ = asyncio.run(_session_calls(url, calls))
    assert out == [7, "OK!"]


def test_hostile_requests_to_the_mcp_endpoint_are_refused(serve_url, cleanup_apps):
    serve.run(build_mcp_app(math_server, ray_actor_options=NO_CPU), name="math",
              route_prefix="/math")
    url = f"{serve_url}/math/mcp"
    headers = {"content-type": "application/json",
               "accept": "application/json, text/event-stream"}
    with httpx2.Client(timeout=30) as http:
        garbage = http.post(url, content=b"\x00{not json", headers=headers)
        assert garbage.status_code == 400, garbage.text
        huge = http.post(url, content=b"[" + b" " * (5 << 20) + b"]", headers=headers)
        assert huge.status_code == 413, huge.status_code
        unknown = http.post(url, headers={**headers, "mcp-session-id": "no-such-session"},
                            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert unknown.status_code == 404, unknown.text
        # DNS rebinding: a page on another origin must not reach a local server.
        rebound = http.post(url, headers={**headers, "host": "attacker.example"},
                            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert rebound.status_code == 421, rebound.text
    # The replica still serves real clients.
    assert asyncio.run(_client_calls(url, [("add", {"a": 1, "b": 1})])) == [2]
