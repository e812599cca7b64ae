"""HTTP connections through the proxy, driven with raw sockets: long-lived keep-alive,
pipelined requests answered in order, a handler cancelled when its client disconnects,
and long streams over the proxy's channel to the replica."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse

from ember import serve

NO_CPU = {"num_cpus": 0}


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


class Responses:
    """Reads HTTP/1.1 responses with a Content-Length off one socket, in order."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def next(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        n = int(headers["content-length"])
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body


@serve.deployment(ray_actor_options=NO_CPU, max_ongoing_requests=8)
class Echo:
    async def __call__(self, request: Request) -> str:
        delay = float(request.query_params.get("delay", "0"))
        if delay:
            await asyncio.sleep(delay)
        return request.query_params.get("say", "")


@pytest.fixture(scope="module")
def echo_url(serve_url):
    serve.run(Echo.bind(), name="echo", route_prefix="/echo")
    yield serve_url
    serve.delete("echo")


def test_keep_alive_serves_many_requests_on_one_connection(echo_url):
    s = _connect(echo_url)
    try:
        responses = Responses(s)
        for i in range(50):
            s.sendall(_get(f"/echo?say=r{i}"))
            status, headers, body = responses.next()
            assert (status, body) == (200, f"r{i}".encode())
            assert headers.get("connection", "keep-alive").lower() != "close"
    finally:
        s.close()


def test_pipelined_requests_get_their_responses_in_order(echo_url):
    s = _connect(echo_url)
    try:
        # The first takes longest: an out-of-order server would answer the others first.
        s.sendall(_get("/echo?say=first&delay=0.2") + _get("/echo?say=second")
                  + _get("/nowhere") + _get("/echo?say=fourth"))
        responses = Responses(s)
        got = [responses.next() for _ in range(4)]
        assert [(st, b) for st, _, b in got[:2]] == [(200, b"first"), (200, b"second")]
        assert got[2][0] == 404
        assert (got[3][0], got[3][2]) == (200, b"fourth")
    finally:
        s.close()


def test_client_disconnect_cancels_the_handler(serve_url, tmp_path):
    started, cancelled = tmp_path / "started", tmp_path / "cancelled"

    @serve.deployment(ray_actor_options=NO_CPU)
    class Waits:
        async def __call__(self) -> str:
            Path(started).touch()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                Path(cancelled).touch()
                raise
            return "never"

    serve.run(Waits.bind(), name="waits", route_prefix="/waits")
    try:
        s = _connect(serve_url)
        s.sendall(_get("/waits"))
        wait_for(started.exists, what="the handler to start")
        s.close()
        wait_for(cancelled.exists, what="the handler to see CancelledError")
        # The replica's slot was freed: it answers again.
        assert httpx.get(serve_url + "/-/healthz").status_code == 200
    finally:
        serve.delete("waits")


def test_client_disconnect_cancels_a_request_sent_by_actor_call(serve_url, tmp_path):
    """Bodies over 1 MiB travel through the object store and an actor call (as requests to
    replicas on other nodes do): a client that leaves cancels that call too."""
    started, cancelled = tmp_path / "started", tmp_path / "cancelled"

    @serve.deployment(ray_actor_options=NO_CPU)
    class WaitsForBig:
        async def __call__(self, request: Request) -> str:
            await request.body()
            Path(started).touch()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                Path(cancelled).touch()
                raise
            return "never"

    serve.run(WaitsForBig.bind(), name="waitsbig", route_prefix="/waitsbig")
    try:
        body = b"b" * (2 << 20)
        s = _connect(serve_url)
        s.sendall(f"POST /waitsbig HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}"
                  "\r\n\r\n".encode() + body)
        wait_for(started.exists, what="the handler to start")
        s.close()
        wait_for(cancelled.exists, what="the handler to see CancelledError")
    finally:
        serve.delete("waitsbig")


class EndlessStream:
    """A raw ASGI app streaming until it is cancelled; it notes the cancellation."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x" * 1024,
                            "more_body": True})
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            Path(self.marker).touch()
            raise


def test_disconnect_mid_stream_cancels_the_streaming_handler(serve_url, tmp_path):
    stopped = tmp_path / "stopped"

    @serve.deployment(ray_actor_options=NO_CPU)
    @serve.ingress(EndlessStream(str(stopped)))
    class Endless:
        pass

    serve.run(Endless.bind(), name="endless", route_prefix="/endless")
    try:
        s = _connect(serve_url)
        s.sendall(_get("/endless"))
        got = 0
        while got < 1 << 20:  # a megabyte of it arrives, then the client leaves
            got += len(s.recv(65536))
        s.close()
        wait_for(stopped.exists, what="the streaming handler to see CancelledError")
    finally:
        serve.delete("endless")


def test_long_stream_arrives_whole_and_in_order(serve_url):
    @serve.deployment(ray_actor_options=NO_CPU)
    class Counter:
        async def __call__(self, request: Request) -> StreamingResponse:
            n = int(request.query_params["n"])

            async def chunks():
                for i in range(n):
                    yield f"{i},".encode()
                    if i % 7 == 0:
                        await asyncio.sleep(0)

            return StreamingResponse(chunks())

    serve.run(Counter.bind(), name="counter", route_prefix="/counter")
    try:
        with httpx.Client(timeout=60) as c:
            text = c.get(serve_url + "/counter?n=20000").text
        assert text == "".join(f"{i}," for i in range(20000))
    finally:
        serve.delete("counter")


def test_slow_reader_holds_back_the_stream(serve_url, tmp_path):
    """A client that reads nothing does not make the replica produce without bound."""
    progress = tmp_path / "progress"

    @serve.deployment(ray_actor_options=NO_CPU)
    class Big:
        async def __call__(self) -> StreamingResponse:
            async def chunks():
                for i in range(100_000):
                    Path(progress).write_text(str(i))
                    yield b"y" * 65536

            return StreamingResponse(chunks())

    serve.run(Big.bind(), name="big", route_prefix="/big")
    try:
        s = _connect(serve_url)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(_get("/big"))
        wait_for(progress.exists, what="the stream to start")
        # Without flow control, 2,000 chunks (131 MB) would be produced in well under the
        # 3 s watched here; with it, production stops once the window and the socket
        # buffers are full.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            text = progress.read_text()
            assert not text or int(text) < 2000, text
            time.sleep(0.05)
        s.close()
    finally:
        serve.delete("big")
