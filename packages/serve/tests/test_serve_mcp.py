"""MCP on Serve, checked with the `mcp` SDK's own client over Streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP

from ember import serve
from ember.serve.mcp import build_mcp_app, build_mcp_gateway_app, build_stdio_mcp_app

NO_CPU = {"num_cpus": 0}

math_server = FastMCP("math")


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
    from mcp.server.fastmcp import FastMCP

    server = FastMCP("text")

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
    async with streamable_http_client(url) as (read, write, get_session_id), \
            ClientSession(read, write) as session:
        await session.initialize()
        out = []
        for name, args in calls:
            result = await session.call_tool(name, args)
            assert not result.isError, result
            out.append(result.structuredContent.get("result") if result.structuredContent
                       else result.content[0].text)
        return out, get_session_id()


async def _list_tools(url: str) -> list[str]:
    async with streamable_http_client(url) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        return sorted(t.name for t in (await session.list_tools()).tools)


def test_fastmcp_server_tools_resources_and_prompts(serve_url, cleanup_apps):
    serve.run(build_mcp_app(math_server, ray_actor_options=NO_CPU), name="math",
              route_prefix="/math")
    url = f"{serve_url}/math/mcp"

    async def main() -> None:
        async with streamable_http_client(url) as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            assert tools == {"add", "whoami"}
            result = await session.call_tool("add", {"a": 2, "b": 40})
            assert result.structuredContent == {"result": 42}
            resource = await session.read_resource("config://units")
            assert resource.contents[0].text == "metric"
            prompt = await session.get_prompt("explain", {"topic": "tides"})
            assert "tides" in prompt.messages[0].content.text

    asyncio.run(main())
    # Other deployments (and the driver) reach the same server by handle.
    h = serve.get_app_handle("math")
    assert {t["name"] for t in h.list_tools.remote().result()} == {"add", "whoami"}
    assert h.call_tool.remote("add", {"a": 1, "b": 2}).result()["structuredContent"] == {
        "result": 3}


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
    out, _ = asyncio.run(_session_calls(url, [("shout", {"text": "hi"}),
                                              ("length", {"text": "four"})]))
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
    out, _ = asyncio.run(_session_calls(url, [("math_add", {"a": 3, "b": 4}),
                                              ("text_shout", {"text": "ok"})]))
    assert out == [7, "OK!"]
