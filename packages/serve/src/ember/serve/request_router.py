"""Custom request routers with Ray's API (`ray.serve.request_router`).

Subclass `RequestRouter` and implement `async choose_replicas(candidate_replicas,
pending_request)`: it returns replicas in ranks (a list of lists, most preferred first).
Serve sends the request to the least loaded replica of the first rank that has room
under `max_ongoing_requests` (counted by this process), trying the next rank if none
has. `on_request_routed` is called once the request is sent. Name the class in
`@serve.deployment(request_router_config=RequestRouterConfig(request_router_class=...))`;
it is built in every process that routes to the deployment and `initialize_state` gets
`request_router_kwargs`.

The mixins rank replicas the way Ray's do: `LocalityMixin` puts replicas on this node
first, `MultiplexMixin` puts replicas holding the request's multiplexed model first,
then those holding the fewest models; `FIFOMixin` is a marker (requests that wait are
always served oldest first). A `choose_replicas` that decides without suspending is
used at once; one that awaits (an actor call, a sleep) runs on the process's Serve event
loop while its request waits in the handle's queue, and its decision holds.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ember.serve._ids import DeploymentID, ReplicaID

__all__ = ["FIFOMixin", "LocalityMixin", "MultiplexMixin", "PendingRequest", "ReplicaID",
           "ReplicaResult", "RequestMetadata", "RequestRouter", "RunningReplica"]


@dataclass(frozen=True)
class RequestMetadata:
    """What a router knows of a request besides its arguments."""

    request_id: str = ""
    internal_request_id: str = ""
    multiplexed_model_id: str = ""
    call_method: str = "__call__"
    is_streaming: bool = False
    is_http_request: bool = False
    session_id: str = ""


@dataclass
class PendingRequest:
    """A request waiting for a replica."""

    args: tuple
    kwargs: dict
    metadata: RequestMetadata
    created_at: float = field(default_factory=time.time)


class ReplicaResult:
    """What sending a request to a replica gave: `result` is its ObjectRef (a unary
    call) or ObjectRefGenerator (a stream); None where the caller sends it itself."""

    def __init__(self, replica_id: ReplicaID, result: Any) -> None:
        self.replica_id = replica_id
        self.result = result

    def to_object_ref(self) -> Any:
        return self.result


class RunningReplica:
    """A running replica as routers see it."""

    def __init__(self, info: Any, deployment_id: DeploymentID) -> None:
        self._info = info
        self._replica_id = ReplicaID(info.replica_id, deployment_id)

    @property
    def replica_id(self) -> ReplicaID:
        return self._replica_id

    @property
    def actor_id(self) -> str:
        return self._info.actor_id

    @property
    def actor_handle(self) -> Any:
        return self._info.actor

    @property
    def node_id(self) -> str:
        return self._info.node_id

    @property
    def availability_zone(self) -> str | None:
        return None

    @property
    def multiplexed_model_ids(self) -> set[str]:
        return set(self._info.model_ids)

    @property
    def routing_stats(self) -> dict[str, Any]:
        return dict(self._info.routing_stats or {})

    @property
    def max_ongoing_requests(self) -> int:
        return self._info.max_ongoing

    def __repr__(self) -> str:
        return f"RunningReplica({self._replica_id})"


class RequestRouter(ABC):
    """Base class of custom request routers (see the module docstring)."""

    def __init__(self, deployment_id: DeploymentID, self_node_id: str = "") -> None:
        self._deployment_id = deployment_id
        self._self_node_id = self_node_id
        self._replicas: dict[ReplicaID, RunningReplica] = {}
        self._queue_lens: dict[ReplicaID, int] = {}

    def initialize_state(self, **kwargs: Any) -> None:  # noqa: B027 - an optional hook
        """Set up the router's state from `request_router_kwargs`."""

    @property
    def deployment_id(self) -> DeploymentID:
        return self._deployment_id

    @property
    def app_name(self) -> str:
        return self._deployment_id.app_name

    @property
    def curr_replicas(self) -> dict[ReplicaID, RunningReplica]:
        return dict(self._replicas)

    def update_replicas(self, replicas: list[RunningReplica]) -> None:
        """The deployment's running replicas changed."""
        self._replicas = {r.replica_id: r for r in replicas}

    def select_available_replicas(
            self, candidates: list[RunningReplica] | None = None) -> list[RunningReplica]:
        """The candidates (all replicas if None) with room for another request."""
        if candidates is None:
            candidates = list(self._replicas.values())
        return [r for r in candidates
                if self._queue_lens.get(r.replica_id, 0) < r.max_ongoing_requests]

    @abstractmethod
    async def choose_replicas(
            self, candidate_replicas: list[RunningReplica],
            pending_request: PendingRequest | None = None) -> list[list[RunningReplica]]:
        """Replicas for `pending_request`, in ranks, most preferred first."""

    def on_request_routed(  # noqa: B027 - an optional hook
            self, pending_request: PendingRequest, replica_id: ReplicaID,
            result: ReplicaResult) -> None:
        """Called once a request has been sent to `replica_id`."""

    def on_request_completed(  # noqa: B027 - an optional hook
            self, replica_id: ReplicaID, internal_request_id: str) -> None:
        """Called when a request on `replica_id` has finished."""

    def on_replica_actor_died(self, replica_id: ReplicaID) -> None:  # noqa: B027 - an optional hook
        """Called when a replica's process was found dead."""


class LocalityMixin:
    """Ranks replicas on this node first (Ray's locality-aware routing)."""

    def rank_replicas_via_locality(
            self, replicas: list[RunningReplica]) -> list[list[RunningReplica]]:
        """[replicas on this node, replicas in this zone (none known), the others]."""
        here = getattr(self, "_self_node_id", "")
        ranks: list[list[RunningReplica]] = [[], [], []]
        for r in replicas:
            ranks[0 if here and r.node_id == here else 2].append(r)
        return ranks


class MultiplexMixin:
    """Ranks replicas by the multiplexed models they hold."""

    def rank_replicas_via_multiplex(self, replicas: list[RunningReplica],
                                    multiplexed_model_id: str) -> list[list[RunningReplica]]:
        """[replicas holding the model, those holding the fewest models, the others]."""
        counts = [len(r.multiplexed_model_ids) for r in replicas]
        fewest = min(counts) if counts else 0
        ranks: list[list[RunningReplica]] = [[], [], []]
        for r, n in zip(replicas, counts, strict=True):
            if multiplexed_model_id in r.multiplexed_model_ids:
                ranks[0].append(r)
            elif n == fewest:
                ranks[1].append(r)
            else:
                ranks[2].append(r)
        return ranks


class FIFOMixin:
    """Requests that wait for a replica are served oldest first (always so in ember)."""
