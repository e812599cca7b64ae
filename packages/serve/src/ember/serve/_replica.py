"""The replica actor: one instance of a deployment's class (or its function).

An async actor. Requests from handles arrive as `handle_request` (or the streaming
variant), HTTP requests from the proxy as `handle_http`; both wait on a semaphore of
`max_ongoing_requests`. Synchronous user code runs on a thread pool so the actor's event
loop stays free for health checks, metrics and other requests. The controller drives the
lifecycle: initialize, reconfigure, check_health, get_metrics, prepare_for_shutdown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
import itertools
import logging
import os
import pickle
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import ember
from ember.serve import context
from ember.serve._asgi import AsgiHost, Lifespan, plain_response, request_asgi
from ember.serve._build import DeploymentTarget
from ember.serve._channel import ChannelListener
from ember.serve._channel_replica import ChannelExchange, ReplicaChannel, run_exchange
from ember.serve._constants import METRICS_SAMPLE_PERIOD_S, SERVE_LOGGER_NAME
from ember.serve._ingress import asgi_app_for
from ember.serve._logging import configure_replica_logging
from ember.serve._metrics import ReplicaMetrics

_log = logging.getLogger(SERVE_LOGGER_NAME)


class ReplicaActor:
    """Hosts one replica; created and stopped only by the controller."""

    def __init__(self, app_name: str, deployment_name: str, replica_id: str,
                 serialized: bytes) -> None:
        self._app = app_name
        self._deployment = deployment_name
        self._replica_id = replica_id
        self._serialized = serialized
        self._instance: Any = None
        self._function: Any = None
        self._asgi: Any = None
        self._lifespan: Lifespan | None = None
        self._http = AsgiHost()
        self._ongoing = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._config: dict = {}
        self._sem: asyncio.Semaphore | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._exit: asyncio.Future | None = None
        self._model_ids: list[str] = []
        self._sampler: asyncio.Task | None = None
        self._listener: ChannelListener | None = None
        self._plain_app: Any = None
        self._metrics = ReplicaMetrics(app_name, deployment_name, replica_id)
        self._request_ids = itertools.count()
        self._rank: dict | None = None  # ReplicaRank's fields, from the controller
        self._world_size = 0

    # -- lifecycle --------------------------------------------------------------------

    async def initialize(self, config: dict) -> dict:
        """Build the user's object, apply user_config, start the ASGI app's lifespan."""
        self._config = config
        configure_replica_logging(config.get("logging_config"), self._app, self._deployment,
                                  self._replica_id)
        self._sem = asyncio.Semaphore(config["max_ongoing_requests"])
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, config["max_ongoing_requests"]),
            thread_name_prefix="ember-serve-replica")
        self._exit = asyncio.get_running_loop().create_future()
        self._rank = config.get("rank")
        self._world_size = config.get("world_size", 0)
        self._set_context(None)
        from ember.serve import multiplex

        multiplex.set_model_ids_reporter(self._report_model_ids)
        target, args, kwargs = pickle.loads(self._serialized)
        self._serialized = b""
        if isinstance(target, DeploymentTarget):
            target = target.resolve()
        if inspect.isclass(target) and inspect.iscoroutinefunction(target.__init__):
            # `async def __init__` is allowed in Ray Serve: run it on the replica's loop.
            self._instance = target.__new__(target)
            await target.__init__(self._instance, *args, **kwargs)
        elif inspect.isclass(target):
            self._instance = target(*args, **kwargs)
        if inspect.isclass(target):
            self._set_context(self._instance)
            self._asgi = asgi_app_for(target, self._instance)
        else:
            self._function = functools.partial(target, *args, **kwargs) if (args or kwargs) \
                else target
            self._set_context(self._function)
        if config.get("user_config") is not None:
            await self._reconfigure(config["user_config"])
        if self._asgi is not None:
            self._lifespan = Lifespan(self._asgi)
            await self._lifespan.startup()
        self._ensure_sampler()
        info = {"pid": os.getpid(), "replica_id": self._replica_id,
                "actor_id": ember.get_runtime_context().get_actor_id()}
        try:
            self._listener = ChannelListener(lambda: ReplicaChannel(self._channel_request))
            self._listener.start()
            info["channel"] = (ember.get_runtime_context().get_node_id(),
                               self._listener.path, self._listener.token)
        except OSError:  # no Unix sockets here: the proxy calls handle_http instead
            self._listener = None
        return info

    def _set_context(self, servable: Any) -> None:
        from ember.serve.schema import ReplicaRank

        rank = ReplicaRank(**self._rank) if self._rank is not None else None
        context.set_replica_context(context.ReplicaContext(
            self._app, self._deployment, self._replica_id, servable, rank,
            self._world_size))

    async def node_id(self) -> str:
        """The node this replica runs on (the controller ranks replicas per node)."""
        return ember.get_runtime_context().get_node_id()

    async def update_rank(self, rank: dict, world_size: int) -> None:
        """Take a new rank or world size. A changed rank is passed to a
        `reconfigure(user_config, rank)` that takes it, when there is a user_config."""
        changed = rank != self._rank
        self._rank, self._world_size = rank, world_size
        current = context._replica
        self._set_context(current.servable_object if current is not None else None)
        user_config = self._config.get("user_config")
        if changed and user_config is not None and self._takes_rank():
            await self._reconfigure(user_config)

    def _takes_rank(self) -> bool:
        fn = getattr(self._instance, "reconfigure", None)
        try:
            return fn is not None and "rank" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return False

    def _ensure_sampler(self) -> None:
        """Sample ongoing requests for the autoscaler (only when it is on)."""
        if self._config.get("autoscaling_config") and self._sampler is None:
            self._sampler = asyncio.get_running_loop().create_task(self._sample_forever())

    async def reconfigure(self, config: dict) -> None:
        """Apply a lightweight config change (user_config, max_ongoing_requests, ...)."""
        old = self._config
        self._config = config
        if config.get("logging_config") != old.get("logging_config"):
            configure_replica_logging(config.get("logging_config"), self._app,
                                      self._deployment, self._replica_id)
        self._ensure_sampler()
        if config["max_ongoing_requests"] != old.get("max_ongoing_requests"):
            self._sem = asyncio.Semaphore(config["max_ongoing_requests"])
        if config.get("user_config") != old.get("user_config") and \
                config.get("user_config") is not None:
            await self._reconfigure(config["user_config"])

    async def _reconfigure(self, user_config: Any) -> None:
        fn = getattr(self._instance, "reconfigure", None)
        if fn is None:
            raise AttributeError(f"user_config was given but {self._deployment!r} has no "
                                 "reconfigure(self, config) method.")
        kwargs = {}
        if self._rank is not None and self._takes_rank():
            from ember.serve.schema import ReplicaRank

            kwargs["rank"] = ReplicaRank(**self._rank)
        await self._run_user(fn, (user_config,), kwargs)

    async def check_health(self) -> None:
        """Run the user's check_health (an exception marks the replica unhealthy)."""
        fn = getattr(self._instance, "check_health", None) or getattr(
            self._instance, "health_check", None)
        if fn is not None:
            await self._run_user(fn, (), {})

    async def get_metrics(self) -> dict:
        """Ongoing requests now and averaged over the autoscaling look-back window."""
        window = (self._config.get("autoscaling_config") or {}).get("look_back_period_s", 30.0)
        cutoff = time.monotonic() - window
        while self._samples and self._samples[0][0] < cutoff:
            self._samples.popleft()
        values = [n for _, n in self._samples] or [self._ongoing]
        return {"ongoing": self._ongoing, "avg": sum(values) / len(values),
                "max": max(values), "min": min(values)}

    async def call_user_hook(self, name: str) -> Any:
        """The answer of the user's `name()` (e.g. `record_autoscaling_stats`), None
        when the deployment has no such method."""
        fn = getattr(self._instance, name, None)
        return None if fn is None else await self._run_user(fn, (), {})

    async def watch_for_exit(self) -> str:
        """Pending until the replica stops: the controller learns of a crash at once."""
        return await asyncio.shield(self._exit)

    async def prepare_for_shutdown(self) -> None:
        """Wait for ongoing requests to finish (up to the graceful timeout), then clean up."""
        cfg = self._config
        deadline = time.monotonic() + cfg.get("graceful_shutdown_timeout_s", 20.0)
        step = max(0.01, min(cfg.get("graceful_shutdown_wait_loop_s", 2.0), 0.05))
        while self._ongoing > 0 and time.monotonic() < deadline:
            await asyncio.sleep(step)
        if self._listener is not None:
            self._listener.close()
        if self._lifespan is not None:
            await self._lifespan.shutdown()
        d = getattr(self._instance, "__del__", None)
        if d is not None:
            try:
                r = d()
                if inspect.isawaitable(r):
                    await r
            except Exception:  # noqa: BLE001 - a failing destructor must not block the stop
                pass
        if self._exit is not None and not self._exit.done():
            self._exit.set_result("stopped")

    async def _sample_forever(self) -> None:
        while True:
            self._samples.append((time.monotonic(), self._ongoing))
            if len(self._samples) > 100_000:
                self._samples.popleft()
            await asyncio.sleep(METRICS_SAMPLE_PERIOD_S)

    def _report_model_ids(self, ids: list[str]) -> None:
        if ids == self._model_ids:
            return
        self._model_ids = list(ids)
        from ember.serve._client import get_controller

        try:
            get_controller().record_multiplexed_model_ids.remote(
                (self._app, self._deployment), self._replica_id, list(ids))
        except Exception:  # noqa: BLE001 - routing preference only
            pass

    # -- calling user code ------------------------------------------------------------

    def _target(self, method: str) -> Any:
        if self._function is not None:
            if method != "__call__":
                raise AttributeError(f"Function deployment {self._deployment!r} has no "
                                     f"method {method!r}; call the handle directly.")
            return self._function
        fn = getattr(self._instance, method, None)
        if fn is None or not callable(fn):
            from ember.serve.exceptions import RayServeException

            methods = [a for a in dir(self._instance) if not a.startswith("__")
                       and callable(getattr(self._instance, a, None))]
            raise RayServeException(f"Tried to call a method '{method}' that does not "
                                    f"exist. Available methods: {methods}.")
        return fn

    async def _run_user(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        if _is_async(fn):
            result = await fn(*args, **kwargs)
        else:
            ctx = contextvars.copy_context()
            result = await asyncio.get_running_loop().run_in_executor(
                self._pool, functools.partial(ctx.run, fn, *args, **kwargs))
        if inspect.isawaitable(result):
            result = await result
        from ember.serve.handle import DeploymentResponse

        if isinstance(result, DeploymentResponse):
            result = await result
        return result

    def _enter(self, meta: dict, internal_id: str = "") -> contextvars.Token:
        return context.set_request_context(context.RequestContext(
            request_id=meta.get("request_id", ""), route=meta.get("route", ""),
            app_name=self._app, multiplexed_model_id=meta.get("model_id", ""),
            _internal_request_id=internal_id))

    @contextlib.contextmanager
    def _request_scope(self, meta: dict) -> Iterator[None]:
        """Set the request context for a handle request. The requests the user's code
        makes to other deployments meanwhile are kept under the request's internal id:
        when this request is cancelled they are cancelled too, as in Ray (those still
        running when it ends otherwise are left to finish)."""
        internal_id = f"{self._replica_id}:{next(self._request_ids)}"
        token = self._enter(meta, internal_id)
        task = asyncio.current_task()
        try:
            yield
        finally:
            context._request.reset(token)
            children = context._take_child_requests(internal_id)
            # Cancelled, even where the user's code caught the CancelledError.
            if task is not None and task.cancelling():
                for child in children:
                    child.cancel()

    # -- requests ---------------------------------------------------------------------

    async def handle_request(self, meta: dict, *args: Any, **kwargs: Any) -> Any:
        self._ongoing += 1
        started, failed = time.perf_counter(), True
        try:
            async with self._sem:
                with self._request_scope(meta):
                    fn = self._target(meta["method"])
                    if _is_generator(fn):
                        raise TypeError(_RETURNED_GENERATOR.format(meta["method"]))
                    result = await self._run_user(fn, args, kwargs)
                    if inspect.isgenerator(result) or inspect.isasyncgen(result):
                        raise TypeError(_RETURNED_GENERATOR.format(meta["method"]))
                    failed = False
                    return result
        except Exception:
            _log.exception("Request failed.")  # as Ray's replica; the caller gets it too
            raise
        finally:
            self._ongoing -= 1
            self._metrics.record(meta.get("route", ""), started, failed)

    async def handle_request_streaming(self, meta: dict, *args: Any, **kwargs: Any) -> Any:
        self._ongoing += 1
        started, failed = time.perf_counter(), True
        try:
            async with self._sem:
                with self._request_scope(meta):
                    fn = self._target(meta["method"])
                    gen = fn(*args, **kwargs)
                    if inspect.iscoroutine(gen):  # an async method returning a generator
                        gen = await gen
                    if inspect.isasyncgen(gen):
                        async for item in gen:
                            yield item
                    elif inspect.isgenerator(gen):
                        loop = asyncio.get_running_loop()
                        done = object()
                        while True:
                            item = await loop.run_in_executor(self._pool, next, gen, done)
                            if item is done:
                                break
                            yield item
                    else:
                        raise TypeError(
                            f"Called method '{meta['method']}' with "
                            "`handle.options(stream=True)` but it did not return a "
                            "generator.")
                    failed = False
        except Exception:
            _log.exception("Request failed.")
            raise
        finally:
            self._ongoing -= 1
            self._metrics.record(meta.get("route", ""), started, failed)

    async def _take_slot(self) -> Callable[[], None]:
        """Wait for a slot under max_ongoing_requests; returns its release, which may be
        called more than once (the response may end before or after the handler)."""
        self._ongoing += 1
        try:
            await self._sem.acquire()
        except BaseException:
            self._ongoing -= 1
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._ongoing -= 1
                self._sem.release()

        return release

    async def handle_http(self, meta: dict, scope: dict, body: bytes | list) -> tuple:
        """Run one HTTP request; see _asgi for the reply's shape. A large body comes as
        [ObjectRef] and is read off the event loop."""
        if isinstance(body, list):
            body = await asyncio.to_thread(ember.get, body[0])
        release = await self._take_slot()
        token = self._enter(meta)
        started, failed = time.perf_counter(), False
        try:
            if self._lifespan is not None and self._lifespan.supported:
                scope["state"] = dict(self._lifespan.state)
            return await self._http.http(self._http_app(), scope, body, release)
        except BaseException as e:
            release()
            failed = True
            if isinstance(e, Exception):
                _log.exception("Request failed.")
                return ("done", plain_response(500, b"Internal Server Error"))
            raise
        finally:
            context._request.reset(token)
            self._metrics.record(meta.get("route", ""), started, failed)

    async def _channel_request(self, ex: ChannelExchange, meta: tuple, scope: dict) -> None:
        """Run one HTTP request that came over the proxy's channel (see _channel)."""
        try:
            release = await self._take_slot()
        except BaseException:
            ex.finished(None)
            raise
        ex.on_complete = release
        request_id, route, model_id = meta
        token = context.set_request_context(context.RequestContext(
            request_id=request_id, route=route, app_name=self._app,
            multiplexed_model_id=model_id))
        started = time.perf_counter()
        try:
            if self._lifespan is not None and self._lifespan.supported:
                scope["state"] = dict(self._lifespan.state)
            await run_exchange(ex, self._http_app(), scope)
        finally:
            context._request.reset(token)
            release()
            self._metrics.record(route, started, ex.failed)

    def _http_app(self) -> Any:
        if self._asgi is not None:
            return self._asgi
        if self._plain_app is not None:
            return self._plain_app
        fn = self._target("__call__")
        # As in Ray: a __call__ that takes no argument is called without the request.
        try:
            takes_request = bool(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            takes_request = True

        async def call(request: Any) -> Any:
            return await self._run_user(fn, (request,) if takes_request else (), {})

        self._plain_app = request_asgi(call)
        return self._plain_app

    async def http_next(self, stream_id: str) -> tuple[list[dict], bool]:
        return await self._http.http_next(stream_id)

    async def http_close(self, stream_id: str) -> None:
        self._http.http_close(stream_id)

    async def ws_open(self, meta: dict, scope: dict) -> str:
        self._ongoing += 1

        def release() -> None:
            self._ongoing -= 1

        token = self._enter(meta)
        try:
            return self._http.ws_open(self._http_app(), scope, release)
        finally:
            context._request.reset(token)

    async def ws_push(self, session_id: str, message: dict) -> None:
        self._http.ws_push(session_id, message)

    async def ws_pull(self, session_id: str) -> tuple[list[dict], bool]:
        return await self._http.ws_pull(session_id)


def _unwrap(fn: Any) -> Any:
    call = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) and callable(fn) and \
            not isinstance(fn, functools.partial):
        call = type(fn).__call__
    while isinstance(call, functools.partial):
        call = call.func
    return call


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(_unwrap(fn))


_RETURNED_GENERATOR = ("Method '{}' returned a generator. You must use "
                       "`handle.options(stream=True)` to call generators on a deployment.")


def _is_generator(fn: Any) -> bool:
    call = _unwrap(fn)
    return inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)
