"""DeploymentHandle: call a deployment from Python; DeploymentResponse: the call's result.

`handle.remote(...)` returns at once. The response is awaitable, `.result()` blocks, and
passing it to another handle call hands the value over inside the cluster without
waiting for it here (model composition).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from typing import Any

import ember
from ember.serve import context
from ember.serve._client import ServeClient, get_client
from ember.serve._constants import DEFAULT_APP_NAME
from ember.serve._router import PendingRequest, Router
from ember.serve.exceptions import RayServeException, RequestCancelledError

__all__ = ["DeploymentHandle", "DeploymentResponse", "DeploymentResponseGenerator"]

_UNSET: Any = object()


def _died(exc: BaseException, actor_id: str) -> bool:
    """The replica with `actor_id` died (or is unreachable) under the call. A death the
    replica's code reported (a RayTaskError) or another actor's death (an upstream
    response passed in as an argument) is not the replica's."""
    errors = ember.exceptions
    if isinstance(exc, errors.RayTaskError):
        return False
    if isinstance(exc, errors.ActorUnavailableError):
        return True
    if not isinstance(exc, errors.ActorDiedError):
        return False
    dead = getattr(exc, "actor_id", "")
    return not dead or not actor_id or dead == actor_id


def _upstream_died(exc: BaseException, actor_id: str) -> bool:
    """Another actor died before finishing a task whose result was an argument."""
    errors = ember.exceptions
    return (isinstance(exc, errors.ActorDiedError) and not isinstance(exc, errors.RayTaskError)
            and not _died(exc, actor_id))


def _cancel_ref(ref: Any) -> None:
    try:
        ember.cancel(ref)
    except Exception:  # noqa: BLE001 - already finished
        pass


def _refuse_in_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("Sync methods should not be called from within an `asyncio` event "
                       "loop. Use `await response` instead.")


class _Call:
    """Shared by both response types: one request, resubmitted once if its replica was
    stopped under it before the router heard (a rolling update's race)."""

    def __init__(self, client: ServeClient, router: Router, kind: str, meta: dict,
                 args: tuple, kwargs: dict, model_id: str) -> None:
        self.client = client
        self.router = router
        self.kind = kind
        self.meta = meta
        self.args = args
        self.kwargs = kwargs
        self.model_id = model_id
        self.assigned: concurrent.futures.Future = concurrent.futures.Future()
        self.replica_id: str | None = None
        self.actor_id = ""  # the replica actor's id once sent
        self.result: Any = None  # ObjectRef or ObjectRefGenerator once assigned
        self.retried = False
        self.cancelled = False
        self.request: PendingRequest | None = None  # while the router holds it
        # The request of this replica the call was made for (see context), if any.
        self.parent_id = ""
        self.response_id = ""

    def track(self, parent_id: str, response: Any) -> None:
        """Record the call under the request it was made for, so that cancelling that
        request cancels this call too (Ray's recursive cancellation)."""
        self.parent_id, self.response_id = parent_id, uuid.uuid4().hex
        context._add_child_request(parent_id, self.response_id, response)

    def untrack(self) -> None:
        if self.parent_id:
            context._child_request_finished(self.parent_id, self.response_id)

    def start(self) -> None:
        pending = [a for a in (*self.args, *self.kwargs.values())
                   if isinstance(a, DeploymentResponse)]
        if any(not p._call.assigned.done() for p in pending):
            self.client.run_coroutine(self._start_after(pending))
            return
        self._submit()

    async def _start_after(self, pending: list[DeploymentResponse]) -> None:
        for p in pending:
            try:
                await asyncio.shield(asyncio.wrap_future(p._call.assigned))
            except BaseException:  # noqa: BLE001 - the error travels with the ref below
                pass
        self._submit()

    def _resolve_args(self) -> tuple[tuple, dict]:
        def conv(a: Any) -> Any:
            if isinstance(a, DeploymentResponse):
                c = a._call
                exc = c.assigned.exception()
                if exc is not None:
                    raise exc
                return c.result
            if isinstance(a, DeploymentResponseGenerator):
                raise TypeError("A streaming DeploymentResponseGenerator cannot be passed "
                                "to another handle call.")
            return a

        return (tuple(conv(a) for a in self.args),
                {k: conv(v) for k, v in self.kwargs.items()})

    def _submit(self) -> None:
        if self.cancelled:  # cancelled while waiting for the responses it takes
            self.untrack()
            if self.assigned.set_running_or_notify_cancel():
                self.assigned.set_exception(RequestCancelledError("The request was cancelled."))
            return
        try:
            args, kwargs = self._resolve_args()
        except BaseException as e:  # noqa: BLE001
            self.untrack()
            if self.assigned.set_running_or_notify_cancel():
                self.assigned.set_exception(e)
            return
        req = PendingRequest(self.kind, self.meta, args, kwargs, self.model_id)
        req.future.add_done_callback(self._on_assigned)
        self.request = req
        self.router.submit(req)

    def cancel_queued(self) -> None:
        """Drop the request if the router has not sent it to a replica yet (the router
        skips cancelled requests), as Ray cancels a request during assignment."""
        self.cancelled = True
        req = self.request
        if req is not None:
            req.future.cancel()

    def _on_assigned(self, f: concurrent.futures.Future) -> None:
        exc = f.exception() if not f.cancelled() else RequestCancelledError("cancelled")
        if isinstance(exc, TypeError) and isinstance(exc.__cause__, RayServeException):
            exc = exc.__cause__  # an argument refused to be pickled (a nested response)
        if exc is not None:
            self.untrack()
            if not self.assigned.done():
                self.assigned.set_exception(exc)
            return
        self.replica_id, self.result, _ = f.result()
        req = self.request
        self.actor_id = req.replica.actor_id if req is not None and req.replica else ""
        if self.parent_id:
            context._child_request_assigned(self.parent_id, self.response_id)
        if not self.assigned.done():
            self.assigned.set_result(self.result)
        if self.cancelled:  # cancelled while the router was sending it
            _cancel_ref(self.result)

    def should_retry(self, exc: BaseException) -> bool:
        """Retry once when the replica died because the controller was stopping it."""
        if self.cancelled or not _died(exc, self.actor_id) or self.replica_id is None:
            return False
        if self.retried or not self.router.was_stopped(self.replica_id):
            self.router.mark_dead(self.replica_id)
            return False
        self.retried = True
        return True


    def upstream_crash_error(self, exc: BaseException) -> RayServeException:
        """Ray's error for a call whose argument's replica died before computing it
        (the replica called stays in rotation: the request fails at once)."""
        dead = getattr(exc, "actor_id", "")
        source = self._deployment_of(dead) if dead else None
        where = f" (a replica of deployment '{source}')" if source else ""
        err = RayServeException(
            f"Request to deployment '{self.router.deployment_id[1]}' failed because an "
            f"upstream actor{where} died before finishing a dependent task. The error "
            f"was:\n{exc}")
        err.__cause__ = exc
        return err

    def _deployment_of(self, actor_id: str) -> str | None:
        """The deployment whose replica `actor_id` computed one of this call's
        arguments, however deep in the chain of responses."""
        for a in (*self.args, *self.kwargs.values()):
            if isinstance(a, DeploymentResponse):
                c = a._call
                if c.actor_id == actor_id:
                    return c.router.deployment_id[1]
                found = c._deployment_of(actor_id)
                if found:
                    return found
        return None


class DeploymentResponse:
    """The future result of `handle.remote()`: `await` it or call `.result()`."""

    def __init__(self, call: _Call) -> None:
        self._call = call
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        self._future.add_done_callback(self._on_cancelled)
        call.assigned.add_done_callback(self._on_assigned)

    def _on_cancelled(self, f: concurrent.futures.Future) -> None:
        # A task awaiting this response was cancelled: cancel the request too, as Ray does.
        if f.cancelled() and not self._call.cancelled:
            self._call.client.schedule(self.cancel)

    def _on_assigned(self, f: concurrent.futures.Future) -> None:
        exc = f.exception()
        if exc is not None:
            try:
                self._future.set_exception(exc)
            except concurrent.futures.InvalidStateError:
                pass
            return
        rid = self._call.replica_id
        self._call.result.future().add_done_callback(lambda vf: self._on_value(vf, rid))

    def _on_value(self, vf: concurrent.futures.Future, rid: str) -> None:
        call = self._call
        call.router.done(rid)
        exc = vf.exception()
        if exc is not None and call.should_retry(exc):
            call.assigned = concurrent.futures.Future()
            call.assigned.add_done_callback(self._on_assigned)
            call.client.schedule(call._submit)
            return
        call.untrack()
        if exc is not None and _upstream_died(exc, call.actor_id):
            exc = call.upstream_crash_error(exc)
        try:
            if exc is not None:
                self._future.set_exception(exc)
            else:
                self._future.set_result(vf.result())
        except concurrent.futures.InvalidStateError:
            pass  # cancelled meanwhile

    def result(self, *, timeout_s: float | None = None,
               _skip_asyncio_check: bool = False) -> Any:
        """Block until the result is ready and return it (TimeoutError past timeout_s).
        Inside a running event loop (a deployment's async method) it raises, as in Ray:
        blocking there would stall the loop; `await` the response instead."""
        if not _skip_asyncio_check:
            _refuse_in_event_loop()
        try:
            return self._future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"Timed out waiting for the result after {timeout_s}s.") from None

    def __await__(self) -> Any:
        return asyncio.wrap_future(self._future).__await__()

    def cancel(self) -> None:
        """Cancel the request: queued, it never runs; running, its task is cancelled."""
        call = self._call
        call.cancel_queued()
        call.untrack()
        if call.assigned.done() and call.assigned.exception() is None:
            _cancel_ref(call.result)
        try:
            self._future.set_exception(RequestCancelledError("The request was cancelled."))
        except concurrent.futures.InvalidStateError:
            pass

    def cancelled(self) -> bool:
        return self._call.cancelled

    def __reduce__(self) -> Any:
        raise RayServeException(
            "`DeploymentResponse` is not serializable. If you are passing the "
            "`DeploymentResponse` in a nested object (e.g. a list or dictionary) to a "
            "downstream deployment handle call, that is no longer supported. Please "
            "only pass `DeploymentResponse` objects as top level arguments.")

    async def _to_object_ref(self, _record_telemetry: bool = True) -> Any:
        """The ObjectRef of the result (once a replica has taken the request)."""
        return await asyncio.shield(asyncio.wrap_future(self._call.assigned))

    def _to_object_ref_sync(self, _record_telemetry: bool = True,
                            _allow_running_in_asyncio_loop: bool = False) -> Any:
        return self._call.assigned.result()


def _finish_call(call: _Call) -> None:
    """A stream ended: forget it under its parent request and free its replica slot."""
    call.untrack()
    if call.replica_id is not None:
        call.router.done(call.replica_id)


class DeploymentResponseGenerator:
    """The streamed results of `handle.options(stream=True).remote()`; iterate it
    (`for` or `async for`)."""

    def __init__(self, call: _Call) -> None:
        self._call = call
        self._finished = False

    def _finish(self) -> None:
        if not self._finished:
            self._finished = True
            _finish_call(self._call)

    def __iter__(self) -> DeploymentResponseGenerator:
        return self

    def __next__(self) -> Any:
        _refuse_in_event_loop()
        if self._call.cancelled:
            raise RequestCancelledError("The request was cancelled.")
        gen = self._call.assigned.result()
        try:
            ref = next(gen)
        except StopIteration:
            self._finish()
            raise
        try:
            return ember.get(ref)
        except BaseException:
            self._finish()
            raise

    def __aiter__(self) -> DeploymentResponseGenerator:
        return self

    async def __anext__(self) -> Any:
        if self._call.cancelled:
            raise RequestCancelledError("The request was cancelled.")
        gen = await asyncio.shield(asyncio.wrap_future(self._call.assigned))
        try:
            ref = await gen.__anext__()
        except StopAsyncIteration:
            self._finish()
            raise
        try:
            return await ref
        except BaseException:
            self._finish()
            raise

    def cancel(self) -> None:
        """Stop reading the stream; a request not yet sent is dropped, a started
        generator finishes on the replica on its own."""
        call = self._call
        call.cancel_queued()
        if call.assigned.done() and call.assigned.exception() is None:
            _cancel_ref(call.result)  # interrupt the replica's generator, as Ray does
        self._finish()

    def cancelled(self) -> bool:
        return self._call.cancelled

    async def _to_object_ref_gen(self) -> Any:
        """The ObjectRefGenerator of the stream (once a replica has taken the request);
        read it instead of this generator, not both."""
        return await asyncio.shield(asyncio.wrap_future(self._call.assigned))

    def _to_object_ref_gen_sync(self, _record_telemetry: bool = True,
                                _allow_running_in_asyncio_loop: bool = False) -> Any:
        return self._call.assigned.result()

    def __del__(self) -> None:
        # The collector may run this on any thread at any allocation, also inside the
        # router's or the request tracker's lock (held by this very thread): freeing the
        # slot takes those locks, so it runs on the client's loop thread instead.
        if self._finished:
            return
        self._finished = True
        call = self._call
        try:
            call.client.schedule(lambda: _finish_call(call))
        except Exception:  # noqa: BLE001 - interpreter shutdown or a closed client
            pass


class DeploymentHandle:
    """Calls one deployment of one application from any process.

    `handle.remote(*args)` calls `__call__`; `handle.method.remote(*args)` another
    method; `.options(stream=True)` returns streamed results of a generator method and
    `.options(multiplexed_model_id=...)` routes to a replica holding that model.
    """

    def __init__(self, deployment_name: str, app_name: str = DEFAULT_APP_NAME, *,
                 method_name: str = "__call__", multiplexed_model_id: str = "",
                 stream: bool = False) -> None:
        self.deployment_name = deployment_name
        self.app_name = app_name
        self._method_name = method_name
        self._model_id = multiplexed_model_id
        self._stream = stream
        self._routing: tuple[ServeClient, Router] | None = None
        self._initialized = False

    def options(self, *, method_name: str = _UNSET, multiplexed_model_id: str = _UNSET,
                stream: bool = _UNSET, use_new_handle_api: bool = _UNSET,
                _prefer_local_routing: bool = _UNSET,
                _by_reference: bool = _UNSET) -> DeploymentHandle:
        """A handle like this one with other call settings (it shares the router, and
        both count as initialized, as in Ray). `_by_reference` is accepted: ember's
        handles always pass results by reference (actor calls, not Ray's gRPC path)."""
        if self._routing is None and ember.is_initialized():
            try:
                self._get_router()
            except Exception:  # noqa: BLE001 - no Serve instance yet: connect on first call
                pass
        self._initialized = True
        h = DeploymentHandle(
            self.deployment_name, self.app_name,
            method_name=self._method_name if method_name is _UNSET else method_name,
            multiplexed_model_id=(self._model_id if multiplexed_model_id is _UNSET
                                  else multiplexed_model_id),
            stream=self._stream if stream is _UNSET else bool(stream))
        h._routing = self._routing
        h._initialized = True
        return h

    def _init(self, **kwargs: Any) -> None:
        """Set up the handle's router now (Ray's `_init`). Ray's router options
        (`_prefer_local_routing`, `_run_router_in_separate_loop`, …) are accepted; ember's
        router always runs on the Serve client's own loop. A handle that already made
        a call, was derived by `options()` or was initialized raises RuntimeError."""
        if self._initialized or self._routing is not None:
            raise RuntimeError("Handle has already been initialized.")
        self._initialized = True
        self._get_router()

    @property
    def _router(self) -> Router:
        """The router this handle (and those made from it by `options()`) sends through."""
        return self._get_router()[1]

    def shutdown(self) -> None:
        """Let go of this handle's router; a later call connects again."""
        self._routing = None

    async def shutdown_async(self) -> None:
        """`shutdown()` for async code."""
        self.shutdown()

    def __getattr__(self, name: str) -> DeploymentHandle:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.options(method_name=name)

    def _get_router(self) -> tuple[ServeClient, Router]:
        routing = self._routing  # one read: other threads may replace it
        if routing is None or routing[0].closed:
            client = get_client()
            routing = (client, client.router(self.app_name, self.deployment_name))
            self._routing = routing
        return routing

    def remote(self, *args: Any, **kwargs: Any) -> DeploymentResponse | DeploymentResponseGenerator:
        """Send a request; returns a DeploymentResponse (or a generator with stream=True)."""
        client, router = self._get_router()
        parent = context.get_request_context()
        meta = {"method": self._method_name, "model_id": self._model_id,
                "request_id": parent.request_id or uuid.uuid4().hex, "route": parent.route}
        call = _Call(client, router, "stream" if self._stream else "call", meta, args,
                     kwargs, self._model_id)
        resp: Any = DeploymentResponseGenerator(call) if self._stream else DeploymentResponse(call)
        if parent._internal_request_id:  # made while a replica handles a request
            call.track(parent._internal_request_id, resp)
        call.start()
        return resp

    @property
    def method_name(self) -> str:
        return self._method_name

    def __reduce__(self) -> tuple:
        return (_rebuild, (self.deployment_name, self.app_name, self._method_name,
                           self._model_id, self._stream))

    def _key(self) -> tuple:
        return (self.deployment_name, self.app_name, self._method_name, self._model_id,
                self._stream)

    def __eq__(self, other: object) -> bool:
        """Handles with the same target and call settings are equal (as in Ray)."""
        return isinstance(other, DeploymentHandle) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"DeploymentHandle(deployment='{self.deployment_name}', "
                f"app='{self.app_name}')")


def _rebuild(deployment: str, app: str, method: str, model_id: str,
             stream: bool) -> DeploymentHandle:
    return DeploymentHandle(deployment, app, method_name=method,
                            multiplexed_model_id=model_id, stream=stream)
