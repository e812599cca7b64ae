"""The HTTP proxy: routing by prefix, Starlette requests, FastAPI ingress, streaming,
server-sent events, WebSockets, timeouts and error statuses."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

import ember
from ember import serve

NO_CPU = {"num_cpus": 0}
TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def serve_url(serve_starter):
    """This module's Serve instance has a request timeout."""
    ember.init(num_cpus=2)
    yield serve_starter(request_timeout_s=TIMEOUT_S)
    try:
        serve.shutdown()
    finally:
        ember.shutdown()


@pytest.fixture
def client(serve_url):
    with httpx.Client(base_url=serve_url, timeout=30) as c:
        yield c


@ember.remote(num_cpus=0)
class Signal:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self) -> None:
        await self.event.wait()

    async def send(self) -> None:
        self.event.set()


@serve.deployment(ray_actor_options=NO_CPU)
async def echo_request(request: Request) -> dict:
    body = await request.body()
    return {"method": request.method, "path": request.url.path,
            "root_path": request.scope.get("root_path"),
            "query": dict(request.query_params), "body": body.decode(),
            "header": request.headers.get("x-test")}


@serve.deployment(ray_actor_options=NO_CPU)
class Plain:
    def __call__(self, request: Request):
        kind = request.query_params.get("kind")
        if kind == "bytes":
            return b"raw"
        if kind == "response":
            return JSONResponse({"custom": True}, status_code=201, headers={"x-served": "1"})
        if kind == "fail":
            raise RuntimeError("boom")
        return "plain text"


def test_plain_requests_and_return_types(client, cleanup_apps):
    serve.run(echo_request.bind(), name="echo", route_prefix="/echo")
    serve.run(Plain.bind(), name="plain", route_prefix="/plain")
    r = client.post("/echo/sub/path?a=1&b=two", content=b"hello", headers={"x-test": "yes"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"method": "POST", "path": "/echo/sub/path", "root_path": "/echo",
                        "query": {"a": "1", "b": "two"}, "body": "hello", "header": "yes"}
    r = client.get("/plain")
    assert (r.status_code, r.text, r.headers["content-type"]) == (
        200, "plain text", "text/plain; charset=utf-8")
    assert client.get("/plain?kind=bytes").content == b"raw"
    r = client.get("/plain?kind=response")
    assert (r.status_code, r.json(), r.headers["x-served"]) == (201, {"custom": True}, "1")
    assert client.get("/plain?kind=fail").status_code == 500


def test_routes_healthz_not_found_and_longest_prefix(client, cleanup_apps):
    serve.run(Plain.bind(), name="root", route_prefix="/")
    serve.run(echo_request.bind(), name="api", route_prefix="/api")
    assert client.get("/-/healthz").text == "success"
    assert client.get("/-/routes").json() == {"/": "root", "/api": "api"}
    assert client.get("/api/x").json()["root_path"] == "/api"
    assert client.get("/apix").text == "plain text"  # not under /api
    assert client.get("/other").text == "plain text"
    serve.delete("root")
    r = client.get("/other")
    assert r.status_code == 404 and "not found" in r.text


app = FastAPI()


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@serve.deployment(ray_actor_options=NO_CPU)
@serve.ingress(app)
class Store:
    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.items: dict[int, Item] = {}

    @app.get("/items/{item_id}")
    def get_item(self, item_id: int, verbose: bool = False) -> dict:
        item = self.items[item_id]
        out = {"id": item_id, "name": item.name, "price": f"{item.price} {self.currency}"}
        if verbose:
            out["tags"] = item.tags
        return out

    @app.post("/items/{item_id}")
    async def put_item(self, item_id: int, item: Item) -> dict:
        self.items[item_id] = item
        return {"stored": item_id}

    @app.get("/stream")
    def stream(self, n: int = 3) -> StreamingResponse:
        def gen():
            for i in range(n):
                yield f"chunk-{i}\n"

        return StreamingResponse(gen(), media_type="text/plain")

    @app.websocket("/ws")
    async def ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                await websocket.close()
                return
            await websocket.send_text(f"{self.currency}:{text}")


def test_fastapi_ingress_with_params_body_and_state(client, cleanup_apps):
    serve.run(Store.bind("EUR"), name="store", route_prefix="/store")
    r = client.post("/store/items/7", json={"name": "lamp", "price": 9.5, "tags": ["home"]})
    assert r.status_code == 200 and r.json() == {"stored": 7}
    assert client.get("/store/items/7").json() == {"id": 7, "name": "lamp",
                                                   "price": "9.5 EUR"}
    assert client.get("/store/items/7", params={"verbose": "true"}).json()["tags"] == ["home"]
    assert client.post("/store/items/8", json={"name": "x"}).status_code == 422
    assert client.get("/store/items/abc").status_code == 422
    spec = client.get("/store/openapi.json").json()
    assert "/items/{item_id}" in spec["paths"]
    # The handle reaches the same class (methods by name).
    h = serve.get_app_handle("store")
    assert h.get_item.remote(7).result()["name"] == "lamp"


def test_streaming_response(client, cleanup_apps):
    serve.run(Store.bind("USD"), name="store", route_prefix="/store")
    with client.stream("GET", "/store/stream", params={"n": 4}) as r:
        assert r.status_code == 200
        assert "".join(r.iter_text()) == "".join(f"chunk-{i}\n" for i in range(4))


def test_server_sent_events_arrive_before_the_stream_ends(client, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU)
    class Events:
        def __init__(self, signal) -> None:
            self.signal = signal

        async def __call__(self, request: Request) -> StreamingResponse:
            async def events():
                yield "data: first\n\n"
                await self.signal.wait.remote()  # held until the client saw "first"
                for i in range(2):
                    yield f"data: {json.dumps({'n': i})}\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

    signal = Signal.remote()
    serve.run(Events.bind(signal), name="sse", route_prefix="/sse")
    with client.stream("GET", "/sse") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == "data: first"
        ember.get(signal.send.remote())
        rest = [ln for ln in lines if ln]
    assert rest == ['data: {"n": 0}', 'data: {"n": 1}']


def test_websocket(serve_url, cleanup_apps):
    from websockets.sync.client import connect

    serve.run(Store.bind("GBP"), name="store", route_prefix="/store")
    ws_url = serve_url.replace("http://", "ws://") + "/store/ws"
    with connect(ws_url) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "GBP:hello"
        ws.send("again")
        assert ws.recv(timeout=10) == "GBP:again"
        ws.send("bye")


def test_request_timeout_is_408(client, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, graceful_shutdown_timeout_s=0.2)
    class Slow:
        async def __call__(self, request: Request) -> str:
            await asyncio.sleep(float(request.query_params["s"]))
            return "done"

    serve.run(Slow.bind(), name="slow", route_prefix="/slow")
    assert client.get("/slow", params={"s": 0}).text == "done"
    r = client.get("/slow", params={"s": 60})
    assert r.status_code == 408


def test_back_pressure_is_503(client, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, max_ongoing_requests=1, max_queued_requests=1)
    class Busy:
        def __init__(self, signal) -> None:
            self.signal = signal

        async def __call__(self, request: Request) -> str:
            await self.signal.wait.remote()
            return "ok"

    signal = Signal.remote()
    serve.run(Busy.bind(signal), name="busy", route_prefix="/busy")

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as ac:
            tasks = [asyncio.ensure_future(ac.get("/busy")) for _ in range(4)]
            done, _ = await asyncio.wait(tasks, timeout=10,
                                         return_when=asyncio.FIRST_COMPLETED)
            ember.get(signal.send.remote())
            return sorted([(await t).status_code for t in tasks])

    assert asyncio.run(burst()) == [200, 200, 503, 503]


@serve.deployment(ray_actor_options=NO_CPU)
def no_request_needed():
    return "hello"


@serve.deployment(ray_actor_options=NO_CPU)
class NoArgDriver:
    def __init__(self, h):
        self._h = h

    async def __call__(self):
        return await self._h.remote()


def test_call_without_a_request_parameter(client):
    serve.run(NoArgDriver.bind(no_request_needed.bind()), name="noarg", route_prefix="/noarg")
    assert client.get("/noarg").text == "hello"
