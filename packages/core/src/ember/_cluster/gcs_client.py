"""A client of the control store: typed helpers over the gRPC stub, token attached."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import grpc

from ember._cluster import auth
from ember._cluster.protos import gcs_pb2 as pb
from ember._cluster.protos import gcs_pb2_grpc as pb_grpc
from ember._core.node.cluster_port import ActorRow
from ember._core.node.demands import Demand


def _actor_to_pb(a: ActorRow) -> Any:
    return pb.Actor(actor_id=a.actor_id, name=a.name, namespace=a.namespace,
                    class_name=a.class_name, state=a.state, node_id=a.node_id,
                    detached=a.detached, data=a.data, num_restarts=a.num_restarts,
                    death_cause=a.death_cause, owner_node=a.owner_node)


def demands_of(node: Any) -> list[Demand]:
    """A node record's (or heartbeat's) pending demand as typed entries."""
    return [Demand(tuple(sorted(d.shape.items())), d.count, d.in_placement_groups)
            for d in node.demands]


class MessageStream(Protocol):
    """A server-streaming call: iterate it for messages, `cancel()` it to stop."""

    def __iter__(self) -> Iterator[Any]: ...

    def __next__(self) -> Any: ...

    def cancel(self) -> bool: ...


class GcsClient:
    """Calls the ControlStore at `address` ("host:port") with the cluster token."""

    def __init__(self, address: str, token: str, timeout: float = 10.0) -> None:
        self.address = address
        self._md = auth.metadata(token)
        self._timeout = timeout
        self._channel = grpc.insecure_channel(address, options=auth.message_options())
        self.stub = pb_grpc.ControlStoreStub(self._channel)

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=self._md, timeout=self._timeout)

    # nodes
    def register_node(self, node_id: str, address: str, resources: dict[str, float],
                      labels: dict[str, str] | None = None, is_head: bool = False) -> float:
        node = pb.Node(node_id=node_id, address=address, resources=resources,
                       labels=labels or {}, is_head=is_head)
        return self.call("RegisterNode", pb.RegisterNodeRequest(node=node)).heartbeat_period_s

    def heartbeat(self, node_id: str, available: dict[str, float], pending: float = 0,
                  stats: dict[str, float] | None = None,
                  demands: list[Demand] | None = None) -> bool:
        req = pb.HeartbeatRequest(node_id=node_id, available=available, pending_demand=pending,
                                  stats=stats or {}, demands=[
                                      pb.Demand(shape=dict(d.shape), count=d.count,
                                                in_placement_groups=d.in_placement_groups)
                                      for d in demands or []])
        return self.call("Heartbeat", req).known

    def unregister_node(self, node_id: str, reason: str = "") -> None:
        self.call("UnregisterNode", pb.UnregisterNodeRequest(node_id=node_id, reason=reason))

    def nodes(self) -> list[Any]:
        return list(self.call("ListNodes", pb.ListNodesRequest()).nodes)

    # actors
    def register_actor(self, actor: ActorRow, get_if_exists: bool = False) -> tuple[Any, bool]:
        reply = self.call("RegisterActor", pb.RegisterActorRequest(
            actor=_actor_to_pb(actor), get_if_exists=get_if_exists))
        return reply.actor, reply.existed

    def update_actor(self, actor: ActorRow) -> None:
        self.call("UpdateActor", pb.UpdateActorRequest(actor=_actor_to_pb(actor)))

    def get_named_actor(self, name: str, namespace: str) -> Any | None:
        reply = self.call("GetNamedActor", pb.GetNamedActorRequest(name=name, namespace=namespace))
        return reply.actor if reply.found else None

    def get_actor(self, actor_id: bytes) -> Any | None:
        reply = self.call("GetActor", pb.GetActorRequest(actor_id=actor_id))
        return reply.actor if reply.found else None

    def actors(self) -> list[Any]:
        return list(self.call("ListActors", pb.ListActorsRequest()).actors)

    # jobs and placement groups
    def add_job(self, job: Any) -> None:
        self.call("AddJob", pb.AddJobRequest(job=job))

    def finish_job(self, job_id: str, status: str) -> None:
        self.call("FinishJob", pb.FinishJobRequest(job_id=job_id, status=status))

    def jobs(self) -> list[Any]:
        return list(self.call("ListJobs", pb.ListJobsRequest()).jobs)

    def put_placement_group(self, pg: Any) -> None:
        self.call("PutPlacementGroup", pb.PutPlacementGroupRequest(pg=pg))

    def placement_groups(self) -> list[Any]:
        return list(self.call("ListPlacementGroups", pb.ListPlacementGroupsRequest()).pgs)

    # key-value store
    def kv_put(self, key: bytes, value: bytes, overwrite: bool = True, ns: str = "") -> bool:
        req = pb.KVPutRequest(ns=ns, key=key, value=value, overwrite=overwrite)
        return self.call("KVPut", req).added

    def kv_get(self, key: bytes, ns: str = "") -> bytes | None:
        reply = self.call("KVGet", pb.KVGetRequest(ns=ns, key=key))
        return reply.value if reply.found else None

    def kv_del(self, key: bytes, by_prefix: bool = False, ns: str = "") -> int:
        return self.call("KVDel", pb.KVDelRequest(ns=ns, key=key, by_prefix=by_prefix)).deleted

    def kv_keys(self, prefix: bytes = b"", ns: str = "") -> list[bytes]:
        return list(self.call("KVKeys", pb.KVKeysRequest(ns=ns, prefix=prefix)).keys)

    # pubsub
    def subscribe(self, channels: list[str]) -> MessageStream:
        """A blocking iterator of PubMessage; cancel it with `.cancel()`."""
        return self.stub.Subscribe(pb.SubscribeRequest(channels=channels), metadata=self._md)

    def subscribe_in_background(self, channels: list[str],
                                on_message: Callable[[Any], None]) -> Callable[[], bool]:
        """Deliver messages to `on_message` from a thread; returns a function to stop."""
        stream = self.subscribe(channels)

        def run() -> None:
            try:
                for msg in stream:
                    on_message(msg)
            except grpc.RpcError:
                return

        threading.Thread(target=run, daemon=True, name="ember-gcs-subscriber").start()
        return stream.cancel  # pyright: ignore[reportAttributeAccessIssue] - a grpc call

    def close(self) -> None:
        self._channel.close()
