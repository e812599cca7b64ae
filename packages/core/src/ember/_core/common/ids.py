"""Identifiers: unique per process without coordination (random prefix + counter).

As in Ray, the last 4 bytes of an actor id and of a task id are the id of the job that
made it (an object id is its task's id and an index), so `ObjectRef.job_id()`,
`TaskID.job_id()` and `ActorID.job_id` read the job straight from the id.
"""

from __future__ import annotations

import itertools
import os
import threading

OBJECT_ID_SIZE = 24
TASK_ID_SIZE = 20
JOB_ID_SIZE = 4

_lock = threading.Lock()
_prefix = os.urandom(8)
_counter = itertools.count(1)
_job = b"\xff" * JOB_ID_SIZE  # the job ids are made for (nil until init or a task sets it)


def set_job(job_id: bytes) -> None:
    """Make the ids this process creates from now on carry `job_id` (4 bytes)."""
    global _job
    if len(job_id) == JOB_ID_SIZE:
        _job = bytes(job_id)


def current_job() -> bytes:
    """The job this process's new ids carry."""
    return _job


def job_of(task_or_actor_id: bytes) -> bytes:
    """The job id inside a task or actor id."""
    return task_or_actor_id[-JOB_ID_SIZE:]


def reseed() -> None:
    """Give a forked child its own prefix so its ids never collide with the parent's."""
    global _prefix, _counter
    with _lock:
        _prefix = os.urandom(8)
        _counter = itertools.count(1)


def _next() -> bytes:
    return _prefix + next(_counter).to_bytes(8, "little")


def new_task_id() -> bytes:
    return _next() + _job


def new_actor_id() -> bytes:
    """16 bytes, as Ray's: 12 unique, then the job id."""
    return _prefix + (next(_counter) & 0xFFFFFFFF).to_bytes(4, "little") + _job


def new_put_id() -> bytes:
    """An object id for `put`: a fresh pseudo task id with index 0xFFFFFFFF."""
    return _next() + _job + b"\xff\xff\xff\xff"


def return_id(task_id: bytes, index: int) -> bytes:
    """The id of a task's index-th return value (also used for generator items)."""
    return task_id + index.to_bytes(4, "little")


HANDLE_SUFFIX = b"\xfe\xfe\xfe\xfe"


def handle_id(actor_id: bytes) -> bytes:
    """The id under which references to an actor's handles are counted."""
    return actor_id + HANDLE_SUFFIX


def task_of(object_id: bytes) -> bytes:
    return object_id[:TASK_ID_SIZE]
