"""Per-process runtime state: the session this process is connected through, and the
running task's context."""

from __future__ import annotations

import contextvars
import dataclasses
from typing import TYPE_CHECKING, Any

from ember._core.common import refs

if TYPE_CHECKING:
    from ember._core.caller.client import BaseClient


@dataclasses.dataclass(slots=True, eq=False)
class Session:
    """This process's connection to a cluster (one at a time).

    `client` carries every call; `refs` counts the process's live ObjectRefs; `info` is
    what `ember.init()` returned. A driver that started an embedded cluster also holds
    what it must stop at shutdown: the node manager, its dashboard, its session
    directory. A driver attached to a running node holds its connection (`connected`).
    """

    client: BaseClient
    refs: refs.LocalRefs
    info: dict[str, Any]
    manager: Any = None
    dashboard: Any = None
    session_dir: str | None = None
    connected: Any = None


# The session of this process (a driver's, after ember.init(); a worker's, from its start).
session: Session | None = None

# Set in worker processes: details of the task being run (per thread and per coroutine).
task_ctx: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ember_task",
                                                                        default=None)


def current_client() -> BaseClient | None:
    """The client of this process's session; None when not connected."""
    s = session
    return None if s is None else s.client


def require_client() -> Any:
    """The client of this process's session, connecting with ember.init() defaults first
    if there is none (Ray's auto-init on the first call)."""
    s = session
    if s is not None:
        return s.client
    from ember._api import _auto_init

    return _auto_init()


__all__ = ["Session", "current_client", "require_client", "session", "task_ctx"]
