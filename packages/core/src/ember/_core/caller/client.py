"""What a process uses to talk to its node manager; the same surface in drivers and workers.

DriverClient calls the node manager in-process; WorkerClient (in worker_process) sends
requests over the worker's socket. The public API above never knows which it has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember._core.caller import values
from ember._core.common import ids, serialization
from ember._core.common.specs import ActorSpec, TaskSpec

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

# Ids remembered as ready by wait_ids before the memory is cleared.
_READY_SEEN_MAX = 100_000
_client_numbers = itertools.count(1)


class BaseClient:
    region: Any
    is_driver = False
    # The driver's init(runtime_env=...): the default of its tasks and actors.
    job_runtime_env: dict | None = None
    job_env_key = ""

    def call(self, op: str, *args: Any) -> Any:
        raise NotImplementedError

    def call_async(self, op: str, args: tuple, cb: Callable[[bool, Any], None]) -> None:
        raise NotImplementedError

    def release_cb(self, oid: bytes) -> Callable[[], None]:
        raise NotImplementedError

    def submit(self, op: str, spec: TaskSpec | ActorSpec) -> None:
        """Submit a task or actor call; errors the call site must see are raised here."""
        self.call(op, spec)

    def put_serialized(self, oid: bytes, ser: serialization.Serialized) -> None:
        raise NotImplementedError

    def decode(self, oid: bytes, payload: tuple) -> tuple[Any, bool]:
        if payload[0] == "i":
            return serialization.deserialize(payload[1])
        return values.decode(payload, self.region, self.release_cb(oid))

    def get_objects(self, object_ids: list[bytes], timeout: float | None) -> list[tuple[Any, bool]]:
        payloads = self.call("get", object_ids, timeout)
        return [self.decode(oid, p) for oid, p in zip(object_ids, payloads, strict=True)]

    @property
    def number(self) -> int:
        """Unique among this process's clients (unlike id(), never reused after a
        shutdown): what was sent to one session's node manager is keyed by it."""
        n = self.__dict__.get("_number")
        if n is None:
            n = self.__dict__["_number"] = next(_client_numbers)
        return n

    def wait_ids(self, object_ids: list[bytes], num_returns: int,
                 timeout: float | None, fetch_local: bool = True) -> list[bytes]:
        """The first `num_returns` ready ids, in order (fewer on timeout).

        Readiness never reverts, so ids seen ready before are remembered here: a wait that
        they already satisfy (the usual loop over a shrinking list) needs no round trip.
        The node manager answers with every ready id it was asked about.
        """
        known = self.__dict__.setdefault("_ready_seen", set())
        hits = [oid for oid in object_ids if oid in known]
        if len(hits) < num_returns:
            if not fetch_local:  # ready somewhere is not ready here: not remembered
                ready = set(self.call("wait", object_ids, num_returns, timeout, False))
                return [oid for oid in object_ids if oid in known or oid in ready][:num_returns]
            ready = self.call("wait", object_ids, num_returns, timeout)
            if len(known) > _READY_SEEN_MAX:
                known.clear()
            known.update(ready)
            hits = [oid for oid in object_ids if oid in known]
        return hits[:num_returns]

    def get_async(self, object_ids: list[bytes],
                  cb: Callable[[bool, Any], None]) -> None:
        """cb(True, [(value, is_error), ...]) or cb(False, exception), from any thread."""

        def done(ok: bool, payloads: Any) -> None:
            if not ok:
                cb(False, payloads)
                return
            try:
                out = [self.decode(o, p) for o, p in zip(object_ids, payloads, strict=True)]
            except BaseException as e:  # noqa: BLE001
                cb(False, e)
                return
            cb(True, out)

        self.call_async("get", (object_ids, None), done)

    def put(self, value: Any) -> bytes:
        ser = serialization.serialize(value)
        oid = ids.new_put_id()
        self.put_serialized(oid, ser)
        return oid

    def task_context(self) -> dict:
        return {}

    def node_info(self) -> dict:
        """node_id, job_id and namespace of the node this process is attached to."""
        raise NotImplementedError


class DriverClient(BaseClient):
    """The driver of an embedded cluster: requests are method calls on the node manager."""

    is_driver = True

    def __init__(self, manager: NodeManager) -> None:
        self.manager = manager
        self.region = manager.region
        self._store = manager.store

    def call(self, op: str, *args: Any) -> Any:
        return self.manager.request(op, args)

    def call_async(self, op: str, args: tuple, cb: Callable[[bool, Any], None]) -> None:
        m = self.manager
        with m.lock:
            m.process_driver_refs()
            m.handle(0, op, args, cb)

    def release_cb(self, oid: bytes) -> Callable[[], None]:
        store = self._store
        return lambda: store.release(oid)

    def put_serialized(self, oid: bytes, ser: serialization.Serialized) -> None:
        self.manager.put_local(oid, ser)

    def node_info(self) -> dict:
        m = self.manager
        return {"node_id": m.node_id, "job_id": m.job_id, "namespace": m.namespace,
                "session_dir": m.session_dir, "labels": dict(m.labels),
                "node_ip": m.node_ip}

    def close(self) -> None:
        pass
