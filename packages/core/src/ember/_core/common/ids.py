"""Identifiers: unique per process without coordination (random prefix + counter)."""

from __future__ import annotations

import itertools
import os
import threading

OBJECT_ID_SIZE = 20
TASK_ID_SIZE = 16

_lock = threading.Lock()
_prefix = os.urandom(8)
_counter = itertools.count(1)


def reseed() -> None:
    """Give a forked child its own prefix so its ids never collide with the parent's."""
    global _prefix, _counter
    with _lock:
        _prefix = os.urandom(8)
        _counter = itertools.count(1)


def _next() -> bytes:
    return _prefix + next(_counter).to_bytes(8, "little")


def new_task_id() -> bytes:
    return _next()


def new_actor_id() -> bytes:
    return _next()


def new_put_id() -> bytes:
    """An object id for `put`: a fresh pseudo task id with index 0xFFFFFFFF."""
    return _next() + b"\xff\xff\xff\xff"


def return_id(task_id: bytes, index: int) -> bytes:
    """The id of a task's index-th return value (also used for generator items)."""
    return task_id + index.to_bytes(4, "little")


HANDLE_SUFFIX = b"\xfe\xfe\xfe\xfe"


def handle_id(actor_id: bytes) -> bytes:
    """The id under which references to an actor's handles are counted."""
    return actor_id + HANDLE_SUFFIX


def task_of(object_id: bytes) -> bytes:
    return object_id[:TASK_ID_SIZE]
