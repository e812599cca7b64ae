"""Runs a router written against Ray's API (`request_router.RequestRouter`) behind the
Router's synchronous `choose` hook.

`choose_replicas` is first driven right away; most routers decide without suspending and
their answer is used at once. One that awaits (an actor call, a sleep) is run again as a
task on the client's event loop while the request waits in the Router's queue; once it
has decided, the Router drains its queue and the decision is used."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from ember.serve._ids import DeploymentID, ReplicaID
from ember.serve._router import WAIT, ReplicaInfo
from ember.serve._router import PendingRequest as _Pending
from ember.serve._router import RequestRouter as _Hook
from ember.serve.request_router import (
    PendingRequest,
    ReplicaResult,
    RequestMetadata,
    RequestRouter,
    RunningReplica,
)

__all__ = ["RayStyleRouter"]


def _node_id() -> str:
    try:
        import ember

        return ember.get_runtime_context().get_node_id() if ember.is_initialized() else ""
    except Exception:  # noqa: BLE001 - locality is a preference only
        return ""


class RayStyleRouter(_Hook):
    """Calls the user's `choose_replicas` for each request and picks from its ranks."""

    def __init__(self, cls: type[RequestRouter], kwargs: dict,
                 deployment_id: tuple[str, str], router: Any = None) -> None:
        self.deployment_id = DeploymentID(deployment_id[1], deployment_id[0])
        user = cls(self.deployment_id, _node_id())
        user.initialize_state(**kwargs)
        self.user = user
        self._wrappers: dict[str, RunningReplica] = {}
        self._pending: dict[int, PendingRequest] = {}
        self._router = router  # the Router to drain once an awaited decision is made
        # id(request) -> (request, ranks or None) once decided, or (request, WAIT) while
        # the decision runs on the loop.
        self._decisions: dict[int, tuple[_Pending, Any]] = {}

    def _wrap(self, info: ReplicaInfo) -> RunningReplica:
        w = self._wrappers.get(info.replica_id)
        if w is None or w._info is not info:
            w = RunningReplica(info, self.deployment_id)
            self._wrappers[info.replica_id] = w
        return w

    def on_replicas_changed(self, replica_ids: set[str]) -> None:
        self._wrappers = {k: v for k, v in self._wrappers.items() if k in replica_ids}

    def set_replicas(self, infos: list[ReplicaInfo]) -> None:
        self.user.update_replicas([self._wrap(i) for i in infos])

    def choose(self, candidates: list[ReplicaInfo], inflight: dict[str, int],
               request: _Pending) -> ReplicaInfo | None:
        wrapped = [self._wrap(c) for c in candidates]
        self.user._queue_lens = {self._wrappers[r].replica_id: n
                                 for r, n in inflight.items() if r in self._wrappers}
        meta = request.meta or {}
        pending = PendingRequest(request.args, request.kwargs, RequestMetadata(
            request_id=str(meta.get("request_id", "")),
            internal_request_id=str(meta.get("internal_request_id", "")),
            multiplexed_model_id=request.model_id, call_method=str(meta.get("method", "__call__")),
            is_streaming=request.kind == "stream", is_http_request=request.kind == "http",
            session_id=request.session_id))
        key = id(request)
        known = self._decisions.get(key)
        if known is not None and known[0] is request:
            if known[1] is WAIT:
                return WAIT
            del self._decisions[key]
            return self._pick(known[1], candidates, inflight, request, pending)
        coro = self.user.choose_replicas(wrapped, pending)
        try:
            coro.send(None)
        except StopIteration as done:
            return self._pick(done.value, candidates, inflight, request, pending)
        except RuntimeError as e:
            if "event loop" not in str(e):
                traceback.print_exc()
                return None
        except Exception:  # noqa: BLE001 - a failing router: power of two instead
            traceback.print_exc()
            return None
        else:
            coro.close()
        # It awaits something: decide on the client's loop while the request waits.
        if self._router is None:
            return None
        self._decisions[key] = (request, WAIT)
        self._router._schedule(lambda: self._decide(key, request, wrapped, pending))
        return WAIT

    def _decide(self, key: int, request: _Pending, wrapped: list[RunningReplica],
                pending: PendingRequest) -> None:
        """On the client's loop: run choose_replicas to its end, then drain."""
        task = asyncio.get_running_loop().create_task(
            self.user.choose_replicas(wrapped, pending))

        def done(t: asyncio.Task) -> None:
            ranks = None
            if t.cancelled():
                pass
            elif t.exception() is not None:
                traceback.print_exception(t.exception())
            else:
                ranks = t.result()
            for k, (req, _) in list(self._decisions.items()):
                if req.future.done():  # cancelled while its decision was made
                    del self._decisions[k]
            if not request.future.done():
                self._decisions[key] = (request, ranks)
            self._router.drain()

        task.add_done_callback(done)

    def _pick(self, ranks: Any, candidates: list[ReplicaInfo], inflight: dict[str, int],
              request: _Pending, pending: PendingRequest) -> ReplicaInfo | None:
        by_id = {c.replica_id: c for c in candidates}
        for rank in ranks or []:
            room = [by_id[r._info.replica_id] for r in rank if r._info.replica_id in by_id
                    and inflight.get(r._info.replica_id, 0) < r.max_ongoing_requests]
            if room:
                chosen = min(room, key=lambda c: inflight.get(c.replica_id, 0))
                self._pending[id(request)] = pending
                return chosen
        return None

    def on_routed(self, request: _Pending, info: ReplicaInfo, result: Any) -> None:
        pending = self._pending.pop(id(request), None)
        if pending is None:
            return
        rid = ReplicaID(info.replica_id, self.deployment_id)
        try:
            self.user.on_request_routed(pending, rid, ReplicaResult(rid, result))
        except Exception:  # noqa: BLE001 - a callback must not fail the request
            traceback.print_exc()
