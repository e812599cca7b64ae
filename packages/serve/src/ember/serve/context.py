"""What code inside a replica can ask about where it runs and what it is serving."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

__all__ = ["ReplicaContext", "RequestContext", "get_multiplexed_model_id",
           "get_replica_context"]


@dataclass(frozen=True)
class ReplicaContext:
    """The replica running the current code: its app, deployment and id."""

    app_name: str
    deployment: str
    replica_id: str
    servable_object: Any = None

    @property
    def replica_tag(self) -> str:
        return self.replica_id


@dataclass(frozen=True)
class RequestContext:
    """The request being handled: its id, route and multiplexed model id."""

    request_id: str = ""
    route: str = ""
    app_name: str = ""
    multiplexed_model_id: str = ""


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
