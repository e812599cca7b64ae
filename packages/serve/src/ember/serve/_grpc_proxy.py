"""gRPC ingress: user protobuf services served by the proxy, answered by deployments.

`gRPCOptions.grpc_servicer_functions` names the generated `add_<Service>Servicer_to_server`
functions. Each is called with a recording server to learn its methods (their
(de)serializers and whether they stream); the proxy then serves those methods itself.
A call goes to the ingress deployment of the application named by the `application`
metadata key (it may be left out when one application runs), to the deployment method of
the RPC's name, with the request message as its argument, as in Ray. A unary method
returns the response message; a server-streaming one is a generator of messages.
Unknown applications get NOT_FOUND, errors raised by the method INTERNAL, a unary call
running past `gRPCOptions.request_timeout_s` DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import grpc

__all__ = ["GrpcIngress", "servicer_methods"]


class _Recorder:
    """Stands in for a grpc server while a generated add_*_to_server function runs."""

    def __init__(self) -> None:
        self.handlers: dict[str, dict[str, Any]] = {}

    def add_registered_method_handlers(self, service: str, handlers: dict) -> None:
        self.handlers.setdefault(service, {}).update(handlers)

    def add_generic_rpc_handlers(self, generic: Any) -> None:
        for g in generic:
            for path, h in getattr(g, "_method_handlers", {}).items():
                service, _, method = path.strip("/").rpartition("/")
                self.handlers.setdefault(service, {}).setdefault(method, h)


class _AnyServicer:
    """Every attribute is a method: the generated code only reads them."""

    def __getattr__(self, name: str) -> Any:
        return None


def servicer_methods(functions: list[str]) -> dict[str, dict[str, Any]]:
    """{service: {method: RpcMethodHandler}} of the named add_*_to_server functions."""
    rec = _Recorder()
    for path in functions:
        module, _, name = path.rpartition(".")
        fn = getattr(importlib.import_module(module), name)
        fn(_AnyServicer(), rec)
    return rec.handlers


class GrpcIngress:
    """The gRPC server of one proxy."""

    def __init__(self, functions: list[str], apps: Callable[[], dict[str, str]],
                 timeout_s: float | None = None) -> None:
        self._functions = functions
        self._timeout_s = timeout_s
        self._apps = apps  # application name -> its ingress deployment (HTTP routes)
        self._server: Any = None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port; returns the bound port."""
        server = grpc.aio.server()
        for service, methods in servicer_methods(self._functions).items():
            handlers = {name: self._handler(name, h) for name, h in methods.items()}
            server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service, handlers),))
        bound = server.add_insecure_port(f"{host}:{port}")
        if bound == 0:
            raise RuntimeError(f"The Serve gRPC proxy could not listen on {host}:{port}.")
        await server.start()
        self._server = server
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(1)

    def _handler(self, method: str, h: Any) -> Any:
        if h.request_streaming:
            raise ValueError(f"gRPC method {method!r} streams requests: Serve's gRPC "
                             "ingress takes unary and server-streaming methods.")
        if h.response_streaming:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method), request_deserializer=h.request_deserializer,
                response_serializer=h.response_serializer)
        return grpc.unary_unary_rpc_method_handler(
            self._unary(method), request_deserializer=h.request_deserializer,
            response_serializer=h.response_serializer)

    async def _handle(self, context: Any, method: str, stream: bool) -> Any:
        from ember.serve.handle import DeploymentHandle

        app = dict(context.invocation_metadata() or ()).get("application", "")
        apps = self._apps()
        if not app:
            if len(apps) != 1:
                await context.abort(grpc.StatusCode.NOT_FOUND, (
                    "Set the 'application' metadata key to one of: "
                    f"{', '.join(sorted(apps)) or '(none running)'}."))
            app = next(iter(apps))
        ingress = apps.get(app)
        if ingress is None:  # an application without an HTTP route: ask the controller
            ingress = await asyncio.to_thread(_ingress_of, app)
            if ingress is None:
                await context.abort(grpc.StatusCode.NOT_FOUND,
                                    f"Application {app!r} not found.")
        return DeploymentHandle(ingress, app).options(method_name=method, stream=stream)

    def _unary(self, method: str) -> Callable:
        async def call(request: Any, context: Any) -> Any:
            handle = await self._handle(context, method, False)
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await handle.remote(request)
            except TimeoutError:
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                    f"The request timed out after {self._timeout_s}s.")
            except Exception as e:  # noqa: BLE001 - the method failed
                await context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

        return call

    def _streaming(self, method: str) -> Callable:
        async def call(request: Any, context: Any) -> Any:
            handle = await self._handle(context, method, True)
            try:
                async for item in handle.remote(request):
                    yield item
            except Exception as e:  # noqa: BLE001 - the method failed
                await context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

        return call


def _ingress_of(app: str) -> str | None:
    import ember
    from ember.serve._client import get_controller

    return ember.get(get_controller().get_app_ingress.remote(app))
