"""Choosing a replica for each request: power of two choices on local queue lengths.

One Router per deployment per process. It knows the deployment's running replicas
(pushed by the controller through the long-poll in `_client`) and how many requests
this process has in flight on each. A request goes to the less loaded of two random
replicas that still have room under `max_ongoing_requests`; when none has room it waits
in a FIFO queue, and past `max_queued_requests` it is refused with BackPressureError.
Requests that carry a session id stick to the replica that opened the session, and
requests for a multiplexed model prefer replicas that have it loaded. A deployment's
`request_router_config` names a RequestRouter that picks replicas instead (LLM serving's
prefix-cache-aware router is one).
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ember.serve.exceptions import BackPressureError, DeploymentUnavailableError

# What a RequestRouter's `choose` returns while its decision is still being made (the
# request waits in the queue; the router drains the queue once it has decided).
WAIT: Any = object()

# Which replica method serves each kind of request.
METHOD_FOR_KIND = {
    "call": "handle_request",
    "stream": "handle_request_streaming",
    "http": "handle_http",
    "ws": "ws_open",
    "pick": None,  # only choose the replica: the caller sends the request itself
}


@dataclass
class ReplicaInfo:
    """What a router knows of one running replica."""

    replica_id: str
    actor: Any
    max_ongoing: int
    model_ids: frozenset[str] = field(default_factory=frozenset)
    channel: Any = None  # the replica's ChannelAddress for proxies on its node
    actor_id: str = ""  # the replica actor's id (hex), to tell its death from others'
    node_id: str = ""
    routing_stats: dict | None = None  # the replica's record_routing_stats() answer


class PendingRequest:
    """A request on its way to a replica.

    `future` resolves to (replica_id, result, actor): `result` is an ObjectRef (unary
    calls) or an ObjectRefGenerator (streams), `actor` the replica's actor handle. For
    kind "pick" nothing is sent: it resolves to (replica_id, None, ReplicaInfo).
    `replica` is the chosen replica's ReplicaInfo once sent.
    """

    __slots__ = ("kind", "meta", "args", "kwargs", "future", "model_id", "session_id",
                 "replica")

    def __init__(self, kind: str, meta: dict, args: tuple, kwargs: dict,
                 model_id: str = "", session_id: str = "") -> None:
        self.kind = kind
        self.meta = meta
        self.args = args
        self.kwargs = kwargs
        self.model_id = model_id
        self.session_id = session_id
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.replica: ReplicaInfo | None = None


class RequestRouter:
    """A routing policy for one deployment in one process (`request_router_config`).

    `choose` is called with the lock of the deployment's Router held, for each request:
    it gets the replicas that have room, this process's in-flight count per replica and
    the request, and returns a replica or None (then power of two choices decides).
    It must be quick and must not block.
    """

    def choose(self, candidates: list[ReplicaInfo], inflight: dict[str, int],
               request: PendingRequest) -> ReplicaInfo | None:
        return None

    def on_replicas_changed(self, replica_ids: set[str]) -> None:
        """The deployment's running replicas are now `replica_ids`."""

    def set_replicas(self, infos: list[ReplicaInfo]) -> None:
        """The deployment's running replicas are now `infos`."""

    def on_routed(self, request: PendingRequest, info: ReplicaInfo, result: Any) -> None:
        """`request` was sent to `info` (its ObjectRef or generator is `result`)."""


def _load_request_router(spec: dict | None, deployment_id: tuple[str, str] = ("", ""),
                         router: Any = None) -> RequestRouter | None:
    if not spec:
        return None
    from ember.serve.autoscaling_policy import import_attr, unpickle

    try:
        blob = spec.get("serialized_class")
        obj: Any = unpickle(blob) if blob else import_attr(spec["request_router_class"])
        kwargs = spec.get("request_router_kwargs") or {}
        from ember.serve.request_router import RequestRouter as RayStyle

        if isinstance(obj, type) and issubclass(obj, RayStyle):
            from ember.serve._router_adapter import RayStyleRouter

            return RayStyleRouter(obj, kwargs, deployment_id, router)
        return obj(**kwargs)
    except Exception:  # noqa: BLE001 - route by power of two rather than not at all
        import traceback

        traceback.print_exc()
        return None


class Router:
    """Routes one deployment's requests from this process (thread-safe)."""

    def __init__(self, deployment_id: tuple[str, str], schedule: Any,
                 on_queued: Any = None) -> None:
        self.deployment_id = deployment_id
        self._schedule = schedule  # run a callable on the client's loop thread
        self._on_queued = on_queued  # told when a request starts waiting
        self._lock = threading.Lock()
        self._replicas: dict[str, ReplicaInfo] = {}
        self._inflight: dict[str, int] = {}
        self._queue: deque[PendingRequest] = deque()
        self._sessions: dict[str, str] = {}
        self._max_queued = -1
        self._deleted = False
        self._stopped: deque[str] = deque(maxlen=256)  # replicas the controller took away
        self._dead: set[str] = set()  # replicas seen dead here before the controller said
        self._policy: RequestRouter | None = None  # a custom request router, if any
        self._policy_spec: dict | None = None
        self.known = False  # the controller has told us the replica set at least once
        self.reported_queued = 0

    # -- state from the controller ----------------------------------------------------

    def update(self, value: dict) -> None:
        """Take a new replica set from the controller, then place waiting requests."""
        with self._lock:
            self.known = True
            if not value.get("exists", True):
                self._deleted = True
                self._replicas = {}
            else:
                self._deleted = False
                self._max_queued = value.get("max_queued_requests", -1)
                listed = value.get("replicas", [])
                self._dead &= {r.replica_id for r in listed}
                new = {r.replica_id: r for r in listed if r.replica_id not in self._dead}
                self._stopped.extend(r for r in self._replicas if r not in new
                                     and r not in self._dead)
                self._replicas = new
                spec = value.get("request_router")
                if spec != self._policy_spec:
                    self._policy_spec = spec
                    self._policy = _load_request_router(spec, self.deployment_id, self)
                if self._policy is not None:
                    self._policy.on_replicas_changed(set(new))
                    self._policy.set_replicas(list(new.values()))
            for rid in list(self._inflight):
                if rid not in self._replicas and self._inflight[rid] <= 0:
                    del self._inflight[rid]
            for rid in self._replicas:
                self._inflight.setdefault(rid, 0)
            self._sessions = {s: r for s, r in self._sessions.items() if r in self._replicas}
            failed = list(self._queue) if self._deleted else []
            if failed:
                self._queue.clear()
        for req in failed:
            _fail(req, DeploymentUnavailableError(
                f"Deployment {self.deployment_id[1]!r} of application "
                f"{self.deployment_id[0]!r} was deleted."))
        self.drain()
        self._enforce_queue_limit()

    def _enforce_queue_limit(self) -> None:
        """Requests queued before the limit was known: refuse the newest past it."""
        with self._lock:
            limit = self._max_queued
            extra = []
            while limit != -1 and len(self._queue) > limit:
                extra.append(self._queue.pop())
            n = len(self._queue)
        for req in reversed(extra):
            _fail(req, BackPressureError(num_queued_requests=n, max_queued_requests=limit))

    def has_replica(self, replica_id: str) -> bool:
        return replica_id in self._replicas

    def was_stopped(self, replica_id: str) -> bool:
        """The controller stopped this replica on purpose (a rolling update, a downscale)."""
        return replica_id in self._stopped

    def mark_dead(self, replica_id: str) -> None:
        """A call found the replica's process dead: route around it until told otherwise."""
        with self._lock:
            if replica_id in self._replicas and replica_id not in self._stopped:
                self._dead.add(replica_id)
                del self._replicas[replica_id]

    def num_queued(self) -> int:
        return len(self._queue)

    def running_replicas(self) -> list[ReplicaInfo]:
        return list(self._replicas.values())

    # -- sessions ---------------------------------------------------------------------

    def bind_session(self, session_id: str, replica_id: str) -> None:
        with self._lock:
            if replica_id in self._replicas:
                self._sessions[session_id] = replica_id

    def end_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    # -- requests ---------------------------------------------------------------------

    def submit(self, req: PendingRequest) -> None:
        """Send `req` to a replica now, or queue it until one has room."""
        info = None
        with self._lock:
            if self._deleted:
                err: Exception | None = DeploymentUnavailableError(
                    f"Deployment {self.deployment_id[1]!r} of application "
                    f"{self.deployment_id[0]!r} does not exist.")
            else:
                err = None
                if not self._queue:
                    info = self._choose(req)
                if info is None:
                    if self._max_queued != -1 and len(self._queue) >= self._max_queued:
                        err = BackPressureError(num_queued_requests=len(self._queue),
                                                max_queued_requests=self._max_queued)
                    else:
                        self._queue.append(req)
                        if self._on_queued is not None:
                            self._on_queued()
        if err is not None:
            _fail(req, err)
        elif info is not None:
            self._dispatch(req, info)

    def done(self, replica_id: str, drain_here: bool = False) -> None:
        """A request on `replica_id` finished: free its slot, place a waiting request
        (on this thread with `drain_here`, else on the client's loop thread)."""
        with self._lock:
            n = self._inflight.get(replica_id)
            if n is not None:
                if n <= 1 and replica_id not in self._replicas:
                    del self._inflight[replica_id]
                else:
                    self._inflight[replica_id] = n - 1
            waiting = bool(self._queue)
        if waiting:
            if drain_here:
                self.drain()
            else:
                self._schedule(self.drain)

    def drain(self) -> None:
        """Place queued requests, oldest first, while replicas have room."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                req = self._queue[0]
                if req.future.done():
                    self._queue.popleft()
                    continue
                info = self._choose(req)
                if info is None:
                    return
                self._queue.popleft()
            self._dispatch(req, info)

    def _choose(self, req: PendingRequest) -> ReplicaInfo | None:
        """Pick a replica (lock held) and count the request on it."""
        reps = self._replicas
        if not reps:
            return None
        inflight = self._inflight
        if req.session_id:
            rid = self._sessions.get(req.session_id)
            if rid is not None and rid in reps:
                inflight[rid] += 1
                return reps[rid]
        chosen = None
        if req.model_id:
            with_model = [r for r in reps.values()
                          if req.model_id in r.model_ids and inflight[r.replica_id] < r.max_ongoing]
            chosen = _two_choices(with_model, inflight)
        if chosen is None:
            free = [r for r in reps.values() if inflight[r.replica_id] < r.max_ongoing]
            if self._policy is not None and free:
                chosen = self._policy.choose(free, inflight, req)
                if chosen is WAIT:
                    return None
            if chosen is None:
                chosen = _two_choices(free, inflight)
        if chosen is not None:
            inflight[chosen.replica_id] += 1
        return chosen

    def _dispatch(self, req: PendingRequest, info: ReplicaInfo) -> None:
        if not req.future.set_running_or_notify_cancel():
            self.done(info.replica_id)
            return
        req.replica = info
        if req.kind == "pick":
            if self._policy is not None:
                self._policy.on_routed(req, info, None)
            req.future.set_result((info.replica_id, None, info))
            return
        try:
            method = getattr(info.actor, METHOD_FOR_KIND[req.kind])
            result = method.remote(req.meta, *req.args, **req.kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            self.done(info.replica_id)
            req.future.set_exception(e)
            return
        if self._policy is not None:
            self._policy.on_routed(req, info, result)
        req.future.set_result((info.replica_id, result, info.actor))


def _two_choices(candidates: list[ReplicaInfo], inflight: dict[str, int]) -> ReplicaInfo | None:
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    a, b = random.sample(candidates, 2)
    return a if inflight[a.replica_id] <= inflight[b.replica_id] else b


def _fail(req: PendingRequest, err: BaseException) -> None:
    if req.future.set_running_or_notify_cancel():
        req.future.set_exception(err)
