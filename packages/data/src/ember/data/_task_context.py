"""Which task of an operator is running in this process (for seeds and file names)."""

from __future__ import annotations

import threading

__all__ = ["current_task_index", "set_task_index"]

_local = threading.local()


def set_task_index(index: int) -> None:
    _local.index = index


def current_task_index() -> int:
    return getattr(_local, "index", 0)
