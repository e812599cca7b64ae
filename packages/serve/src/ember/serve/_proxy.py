"""The HTTP proxy: an actor running uvicorn that routes requests to replicas by prefix.

Requests are matched to the application with the longest route_prefix that contains the
path; the ingress deployment's router picks the replica. `/-/routes` lists the routes and
`/-/healthz` answers while the proxy is up. Responses whose headers open a session (MCP's
Mcp-Session-Id) pin later requests of that session to the same replica.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import threading
from typing import Any

import ember
from ember.lowlevel import join_bytes
from ember.serve._asgi import plain_response
from ember.serve._channel import WINDOW_BYTES, ChannelClient, PendingResponse
from ember.serve._constants import MULTIPLEXED_MODEL_ID_HEADER, SESSION_HEADERS
from ember.serve._http_protocol import coalescing_http_protocol
from ember.serve._router import PendingRequest
from ember.serve.config import HTTPOptions
from ember.serve.exceptions import BackPressureError, DeploymentUnavailableError

_SCOPE_KEYS = ("type", "asgi", "http_version", "method", "scheme", "path", "raw_path",
               "query_string", "headers", "client", "server", "subprotocols", "extensions")
_SESSION = tuple(h.encode() for h in SESSION_HEADERS)
# Bodies above this travel to the replica as an object in the store (see _http).
LARGE_BODY_BYTES = 1 << 20
_MODEL_HEADER = MULTIPLEXED_MODEL_ID_HEADER.encode()
# A request's id: taken from the request's header when it has one, as Ray does, and
# always sent back in the response's.
_REQUEST_ID_HEADER = b"x-request-id"


def _with_request_id(send: Any, request_id: str) -> Any:
    """`send` that adds the `x-request-id` header to the response (unless the app set
    its own)."""
    header = (_REQUEST_ID_HEADER, request_id.encode("latin-1"))

    async def send_with_id(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or ())
            if not any(k.lower() == _REQUEST_ID_HEADER for k, _ in headers):
                message = {**message, "headers": [*headers, header]}
        await send(message)

    return send_with_id
# A request still running after this long gets a task that watches for the client leaving
# (most requests finish sooner and never pay for one).
WATCH_DISCONNECT_AFTER_S = 0.002


class ProxyActor:
    """One per node that runs a proxy (see _proxy_fleet); created by the controller."""

    def __init__(self, http_options: dict, grpc_options: dict | None = None) -> None:
        self._options = HTTPOptions(**(http_options or {}))
        self._grpc_options = grpc_options or {}
        self._grpc: Any = None
        self._grpc_address: str | None = None
        self._routes: list[tuple[str, dict]] = []
        self._prefixes: list[tuple[str, str, dict]] = []
        self._server: Any = None
        self._serve_task: asyncio.Task | None = None
        self._address: str | None = None
        self._client: Any = None
        self._node_id = ""
        self._channels: dict[str, ChannelClient] = {}
        # Request ids: a random prefix per proxy and a counter (uuid4 per request costs).
        self._id_prefix = os.urandom(8).hex()
        self._id_counter = itertools.count()

    def _request_id(self) -> str:
        return f"{self._id_prefix}{next(self._id_counter):016x}"

    async def ready(self) -> str:
        """Bind and start serving; returns the address ('http://host:port')."""
        if self._address is not None:
            return self._address
        import uvicorn

        from ember.serve._client import get_client

        self._client = get_client()
        self._node_id = ember.get_runtime_context().get_node_id()
        self._client.subscribe("routes", self._set_routes)
        opts = self._options
        family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
        # proto=IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted connections
        # (without it, Nagle and delayed ACKs add ~40 ms to every response).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((opts.host, opts.port))
        except OSError as e:
            sock.close()
            raise RuntimeError(f"The Serve HTTP proxy could not listen on "
                               f"{opts.host}:{opts.port}: {e}") from None
        sock.listen(2048)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        config = uvicorn.Config(self._asgi, interface="asgi3", lifespan="off",
                                http=coalescing_http_protocol(),
                                log_level="warning", access_log=False,
                                timeout_keep_alive=int(opts.keep_alive_timeout_s),
                                root_path=opts.root_path, ws="auto", log_config=None)
        self._server = uvicorn.Server(config)
        self._serve_task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
                raise RuntimeError("The Serve HTTP proxy stopped while starting.")
            await asyncio.sleep(0.005)
        host = opts.host
        if host in ("0.0.0.0", "::", ""):
            # Listening on every interface: report the address other nodes reach it at.
            host = next((n["NodeManagerAddress"] for n in ember.nodes()
                         if n["NodeID"] == self._node_id), "127.0.0.1")
        if ":" in host:
            host = f"[{host}]"
        self._address = f"http://{host}:{port}"
        functions = self._grpc_options.get("grpc_servicer_functions") or []
        if functions:
            from ember.serve._grpc_proxy import GrpcIngress

            self._grpc = GrpcIngress(functions, self._route_apps,
                                     self._grpc_options.get("request_timeout_s"))
            bound = await self._grpc.start(opts.host, self._grpc_options.get("port", 9000))
            self._grpc_address = f"{host}:{bound}"
        return self._address

    async def grpc_address(self) -> str | None:
        """host:port of this proxy's gRPC server, if it runs one."""
        return self._grpc_address

    def _route_apps(self) -> dict[str, str]:
        return {e["app"]: e["deployment"] for _, e in self._routes}

    async def shutdown(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop()
        if self._server is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._serve_task), 3)
            except Exception:  # noqa: BLE001
                pass

    def _set_routes(self, table: dict) -> None:
        self._routes = sorted(table.items(), key=lambda kv: len(kv[0]), reverse=True)
        self._prefixes = [(p, p.rstrip("/") + "/", e) for p, e in self._routes]

    def _match(self, path: str) -> tuple[str, dict] | None:
        for prefix, below, entry in self._prefixes:
            if prefix == "/" or path == prefix or path.startswith(below):
                return prefix, entry
        return None

    # -- ASGI ---------------------------------------------------------------------------

    async def _asgi(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return
        root = scope.get("root_path", "") or ""
        path = scope["path"]
        rel = path[len(root):] if root and path.startswith(root) else path
        if kind == "http" and rel.startswith("/-/"):
            await self._builtin(rel, send)
            return
        matched = self._match(rel)
        if matched is None:
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            msg = (f"Path '{rel}' not found. Ping http://.../-/routes for available routes.")
            await _send_all(send, plain_response(404, msg.encode()))
            return
        prefix, entry = matched
        inner = {k: scope[k] for k in _SCOPE_KEYS if k in scope}
        inner["root_path"] = root + (prefix.rstrip("/") if prefix != "/" else "")
        if not inner.get("raw_path"):
            inner["raw_path"] = path.encode()
        model_id = session = request_id = ""
        for name, value in scope.get("headers", ()):
            if name == _MODEL_HEADER:
                model_id = value.decode("latin-1")
            elif name in _SESSION:
                session = value.decode("latin-1")
            elif name == _REQUEST_ID_HEADER:
                request_id = value.decode("latin-1")
        meta = {"method": "__call__", "model_id": model_id,
                "request_id": request_id or self._request_id(), "route": prefix}
        if kind == "http":
            send = _with_request_id(send, meta["request_id"])
        router = self._client.router(entry["app"], entry["deployment"])
        if kind == "websocket":
            await self._websocket(router, meta, inner, receive, send, model_id, session)
            return
        timeout = self._options.request_timeout_s
        state: dict = {"started": False}
        if timeout is None:
            await self._http(router, meta, inner, receive, send, model_id, session, state)
            return
        try:
            async with asyncio.timeout(timeout):
                await self._http(router, meta, inner, receive, send, model_id, session, state)
        except TimeoutError:
            if not state["started"]:
                await _send_all(send, plain_response(
                    408, f"Request {meta['request_id']} timed out after {timeout}s.".encode()))

    async def _builtin(self, rel: str, send: Any) -> None:
        if rel == "/-/healthz":
            await _send_all(send, plain_response(200, b"success"))
        elif rel == "/-/routes":
            body = json.dumps({p: e["app"] for p, e in self._routes}).encode()
            await _send_all(send, plain_response(200, body, b"application/json"))
        else:
            await _send_all(send, plain_response(404, b"Not found."))

    async def _http(self, router: Any, meta: dict, scope: dict, receive: Any, send: Any,
                    model_id: str, session: str, state: dict) -> None:
        chunks = await self._read_body(scope, receive, send)
        if chunks is None:
            return
        large = sum(map(len, chunks)) > LARGE_BODY_BYTES
        if large:
            # Joined and put in the object store off the event loop; the replica reads it
            # off its loop too, so a large upload never stalls other requests.
            body: Any = [await asyncio.to_thread(_put_joined, chunks)]
        else:
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        req = PendingRequest("pick", meta, (), {}, model_id, session)
        router.submit(req)
        fut = req.future
        try:
            rid, _, info = fut.result() if fut.done() else await _assigned(fut)
        except asyncio.CancelledError:
            if not fut.cancel():
                fut.add_done_callback(lambda f: _abandon(router, f))
            raise
        except (BackPressureError, DeploymentUnavailableError) as e:
            await _send_all(send, plain_response(503, str(e).encode()))
            return
        try:
            channel = None if large else await self._channel_for(info)
            if channel is not None:
                await self._via_channel(router, rid, channel, meta, scope, body, receive,
                                        send, state)
            else:
                await self._via_actor_watched(router, rid, info.actor, meta, scope, body,
                                              receive, send, state)
        finally:
            router.done(rid, drain_here=True)

    async def _channel_for(self, info: Any) -> ChannelClient | None:
        """The open channel to this replica, or None when it must be called as an actor
        (another node, no socket, or the connection failed)."""
        address = info.channel
        if address is None or address.node_id != self._node_id:
            return None
        client = self._channels.get(info.replica_id)
        if client is None or client.broken:
            for k in [k for k, c in self._channels.items() if c.broken]:
                del self._channels[k]
            client = self._channels[info.replica_id] = ChannelClient(address)
        if not client.connected:
            try:
                await client.connect()
            except Exception:  # noqa: BLE001 - fall back to an actor call
                return None
        return client

    async def _via_channel(self, router: Any, rid: str, client: ChannelClient, meta: dict,
                           scope: dict, body: bytes, receive: Any, send: Any,
                           state: dict) -> None:
        parts = (scope["method"], scope["scheme"], scope["path"], scope["raw_path"],
                 scope["query_string"], scope["root_path"], scope["headers"],
                 scope.get("client"), scope.get("server"), scope["http_version"])
        pr = client.request((meta["request_id"], meta["route"], meta["model_id"]), parts, body)
        loop = asyncio.get_running_loop()
        watch: list[asyncio.Task] = []
        timer = loop.call_later(WATCH_DISCONNECT_AFTER_S, lambda: watch.append(
            loop.create_task(_watch_disconnect(receive, client, pr))))
        first = True
        delivered = 0
        try:
            while True:
                try:
                    msgs, final = await pr.next()
                except (ConnectionError, _ClientLeft) as e:
                    if isinstance(e, ConnectionError) and not state["started"]:
                        if _replica_gone(router, rid):
                            router.mark_dead(rid)
                        await _send_all(send, plain_response(
                            500, b"Internal Server Error: the replica's channel closed"))
                    return
                if first:
                    first = False
                    self._track_session(router, rid, scope, msgs)
                for m in _coalesce(msgs):
                    if m["type"] == "http.response.start":
                        state["started"] = True
                    else:
                        delivered += len(m.get("body", b""))
                    await send(m)
                if final:
                    return
                if delivered >= WINDOW_BYTES // 4:
                    client.ack(pr, delivered)
                    delivered = 0
        except BaseException:
            client.cancel(pr)
            raise
        finally:
            timer.cancel()
            if watch:
                watch[0].cancel()

    async def _via_actor_watched(self, router: Any, rid: str, actor: Any, meta: dict,
                                 scope: dict, body: Any, receive: Any, send: Any,
                                 state: dict) -> None:
        """`_via_actor`, cancelled (with the call on the replica) if the client leaves."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        left: list[bool] = []
        watch: list[asyncio.Task] = []

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            left.append(True)
            me.cancel()

        timer = loop.call_later(WATCH_DISCONNECT_AFTER_S,
                                lambda: watch.append(loop.create_task(watch_disconnect())))
        try:
            await self._via_actor(router, rid, actor, meta, scope, body, send, state)
        except asyncio.CancelledError:
            if not left:
                raise
            me.uncancel()  # the client left: nothing more to answer
        finally:
            timer.cancel()
            if watch:
                watch[0].cancel()

    async def _via_actor(self, router: Any, rid: str, actor: Any, meta: dict, scope: dict,
                         body: Any, send: Any, state: dict) -> None:
        ref = actor.handle_http.remote(meta, scope, body)
        finished = False
        try:
            reply = await ref
        except asyncio.CancelledError:
            _cancel(ref)
            raise
        except Exception as e:  # noqa: BLE001 - the replica died or failed
            if isinstance(e, ember.exceptions.RayActorError):
                router.mark_dead(rid)
            await _send_all(send, plain_response(500, f"Internal Server Error: "
                                                      f"{type(e).__name__}".encode()))
            return
        self._track_session(router, rid, scope, reply[-1])
        state["started"] = bool(reply[-1])
        if reply[0] == "done":
            await _send_all(send, reply[1])
            return
        sid = reply[1]
        try:
            await _send_all(send, reply[2])
            while not finished:
                msgs, finished = await actor.http_next.remote(sid)
                await _send_all(send, msgs)
        except BaseException:
            if not finished:
                actor.http_close.remote(sid)
            raise

    async def _read_body(self, scope: dict, receive: Any, send: Any) -> list[bytes] | None:
        """The request body's chunks, or None once the client left or was refused (413)."""
        limit = self._options.max_request_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_all(send, _too_large(limit))
                return None
        chunks = []
        total = 0
        while True:
            m = await receive()
            if m["type"] == "http.disconnect":
                return None
            chunk = m.get("body", b"")
            total += len(chunk)
            if total > limit:
                await _send_all(send, _too_large(limit))
                return None
            chunks.append(chunk)
            if not m.get("more_body"):
                break
        return chunks

    def _track_session(self, router: Any, rid: str, scope: dict, msgs: list) -> None:
        for m in msgs:
            if m.get("type") != "http.response.start":
                continue
            for name, value in m.get("headers", ()):
                if name.lower() in _SESSION:
                    sid = value.decode("latin-1") if isinstance(value, bytes) else value
                    if scope.get("method") == "DELETE":
                        router.end_session(sid)
                    else:
                        router.bind_session(sid, rid)
            return

    async def _websocket(self, router: Any, meta: dict, scope: dict, receive: Any, send: Any,
                         model_id: str, session: str) -> None:
        req = PendingRequest("ws", meta, (scope,), {}, model_id, session)
        router.submit(req)
        try:
            rid, ref, actor = await asyncio.wrap_future(req.future)
        except Exception:  # noqa: BLE001
            await send({"type": "websocket.close", "code": 1013})
            return
        try:
            sid = await ref

            async def pump_in() -> None:
                while True:
                    msg = await receive()
                    if msg["type"] == "websocket.connect":
                        continue
                    await actor.ws_push.remote(sid, msg)
                    if msg["type"] == "websocket.disconnect":
                        return

            inbound = asyncio.ensure_future(pump_in())
            try:
                done = False
                while not done:
                    msgs, done = await actor.ws_pull.remote(sid)
                    for m in msgs:
                        await send(m)
            finally:
                inbound.cancel()
        except Exception:  # noqa: BLE001 - the replica failed; close the socket
            try:
                await send({"type": "websocket.close", "code": 1011})
            except Exception:  # noqa: BLE001
                pass
        finally:
            router.done(rid)


async def _send_all(send: Any, messages: list[dict]) -> None:
    for m in messages:
        await send(m)


async def _assigned(fut: Any) -> Any:
    """Await the router's future; handed over without a thread wake-up when the router
    places the request on this thread (a slot freed by this proxy's own request)."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    here = threading.get_ident()

    def copy(f: Any) -> None:
        if waiter.done():
            return
        if f.cancelled():
            waiter.cancel()
        elif f.exception() is not None:
            waiter.set_exception(f.exception())
        else:
            waiter.set_result(f.result())

    def done(f: Any) -> None:
        if threading.get_ident() == here:
            copy(f)
        else:
            loop.call_soon_threadsafe(copy, f)

    fut.add_done_callback(done)
    return await waiter


class _ClientLeft(Exception):
    """The HTTP client disconnected while its request ran."""


async def _watch_disconnect(receive: Any, client: ChannelClient, pr: PendingResponse) -> None:
    """Cancel the request on the replica once the client disconnects."""
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            client.cancel(pr)
            pr.error = _ClientLeft()
            pr._wake()
            return


def _coalesce(msgs: list[dict]) -> list[dict]:
    """Join runs of body messages into one (one write to the client instead of many)."""
    if len(msgs) < 3:
        return msgs
    out: list[dict] = []
    run: list[bytes] = []
    for m in msgs:
        if m["type"] == "http.response.body" and m.get("more_body") and len(m) <= 3:
            run.append(m.get("body", b""))
            continue
        if run:
            out.append({"type": "http.response.body", "body": b"".join(run), "more_body": True})
            run = []
        out.append(m)
    if run:
        out.append({"type": "http.response.body", "body": b"".join(run), "more_body": True})
    return out


def _replica_gone(router: Any, rid: str) -> bool:
    return router.has_replica(rid) and not router.was_stopped(rid)


def _put_joined(chunks: list[bytes]) -> Any:
    return ember.put(join_bytes(chunks))


def _too_large(limit: int) -> list[dict]:
    return plain_response(413, f"Request body larger than {limit} bytes "
                               "(HTTPOptions.max_request_body_bytes).".encode())


def _cancel(ref: Any) -> None:
    try:
        ember.cancel(ref)
    except Exception:  # noqa: BLE001 - it already finished
        pass


def _abandon(router: Any, f: Any) -> None:
    """A request assigned just as its caller gave up: cancel it and free its slot."""
    if f.cancelled() or f.exception() is not None:
        return
    rid, ref, _ = f.result()
    if ref is not None:
        _cancel(ref)
    router.done(rid)
