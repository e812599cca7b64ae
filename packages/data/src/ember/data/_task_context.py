"""Which task of an operator is running in this process (for seeds and file names)."""

from __future__ import annotations

import threading

__all__ = ["current_task_index", "current_task_run", "set_task_index"]

_local = threading.local()


def set_task_index(index: int) -> None:
    """A task of an operator starts in this thread (each start is a new run)."""
    _local.index = index
    _local.run = getattr(_local, "run", 0) + 1


def current_task_run() -> int:
    """Which task run of this thread is going on: tells a task's start apart even when
    a worker (an actor pool's) runs several tasks with the same objects."""
    return getattr(_local, "run", 0)


def current_task_index() -> int:
    return getattr(_local, "index", 0)
