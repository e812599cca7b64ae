"""Per-process runtime state: the connected client and the running task's context."""

from __future__ import annotations

import contextvars
from typing import Any

# The client of the current session (DriverClient or WorkerClient), None when not connected.
client: Any = None

# Set in worker processes: details of the task being run (per thread and per coroutine).
task_ctx: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ember_task",
                                                                        default=None)


def require_client() -> Any:
    c = client
    if c is None:
        from ember._api import _auto_init

        c = _auto_init()
    return c
