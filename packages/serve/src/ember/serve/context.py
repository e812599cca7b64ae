"""What code inside a replica can ask about where it runs and what it is serving."""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["ReplicaContext", "RequestContext", "get_multiplexed_model_id",
           "get_replica_context"]


@dataclass(frozen=True)
class ReplicaContext:
    """The replica running the current code: its app, deployment and id, its rank in the
    deployment (a `ReplicaRank`) and the deployment's target number of replicas."""

    app_name: str
    deployment: str
    replica_id: str
    servable_object: Any = None
    rank: Any = None
    world_size: int = 0

    @property
    def replica_tag(self) -> str:
        return self.replica_id


@dataclass(frozen=True)
class RequestContext:
    """The request being handled: its id, route and multiplexed model id.

    `_internal_request_id` is unique per request a replica handles (the public
    `request_id` is shared by a request and the requests it makes downstream); the
    requests made while handling it are kept under it, to cancel them with it.
    """

    request_id: str = ""
    route: str = ""
    app_name: str = ""
    multiplexed_model_id: str = ""
    _internal_request_id: str = ""


_replica: ReplicaContext | None = None
_EMPTY = RequestContext()
_request: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "ember_serve_request", default=None)


def get_replica_context() -> ReplicaContext:
    """The current replica's context; raises outside a replica, as Ray does."""
    if _replica is None:
        from ember.serve.exceptions import RayServeException

        raise RayServeException("`serve.get_replica_context()` may only be called from "
                                "within a Serve deployment.")
    return _replica


def _get_internal_replica_context() -> ReplicaContext | None:
    """The replica's context with `replica_id` as a `ReplicaID` (Ray's documentation
    examples use this accessor); None outside a replica."""
    if _replica is None:
        return None
    from dataclasses import replace

    from ember.serve._ids import DeploymentID, ReplicaID

    ctx = _replica
    return replace(ctx, replica_id=ReplicaID(ctx.replica_id,
                                             DeploymentID(ctx.deployment, ctx.app_name)))


def set_replica_context(ctx: ReplicaContext | None) -> None:
    global _replica
    _replica = ctx


def get_request_context() -> RequestContext:
    return _request.get() or _EMPTY


def set_request_context(ctx: RequestContext) -> contextvars.Token:
    return _request.set(ctx)


def get_multiplexed_model_id() -> str:
    """The model id the current request asked for ('' when it named none).

    Set from the `serve_multiplexed_model_id` HTTP header or from
    `handle.options(multiplexed_model_id=...)`.
    """
    return (_request.get() or _EMPTY).multiplexed_model_id


# The requests a replica makes to other deployments while handling a request, by that
# request's internal id and then by response id (Ray's names): those the router has not
# yet sent to a replica, and those sent. Cancelling the request cancels them all (Ray's
# recursive cancellation); the entries go when they finish or the request ends.
_requests_pending_assignment: dict[str, dict[str, Any]] = {}
_in_flight_requests: dict[str, dict[str, Any]] = {}
_children_lock = threading.Lock()


def _add_child_request(parent_id: str, response_id: str, response: Any) -> None:
    with _children_lock:
        _requests_pending_assignment.setdefault(parent_id, {})[response_id] = response


def _child_request_assigned(parent_id: str, response_id: str) -> None:
    with _children_lock:
        response = _pop(_requests_pending_assignment, parent_id, response_id)
        if response is not None:
            _in_flight_requests.setdefault(parent_id, {})[response_id] = response


def _child_request_finished(parent_id: str, response_id: str) -> None:
    with _children_lock:
        _pop(_requests_pending_assignment, parent_id, response_id)
        _pop(_in_flight_requests, parent_id, response_id)


def _take_child_requests(parent_id: str) -> list[Any]:
    """Forget the requests made for `parent_id` and return those not finished."""
    with _children_lock:
        pending = _requests_pending_assignment.pop(parent_id, {})
        running = _in_flight_requests.pop(parent_id, {})
    return [*pending.values(), *running.values()]


def _pop(table: dict[str, dict[str, Any]], parent_id: str, response_id: str) -> Any:
    children = table.get(parent_id)
    if children is None:
        return None
    response = children.pop(response_id, None)
    if not children:
        del table[parent_id]
    return response
