"""The messages on a node manager's sockets: between the node and its workers, the worker
template, and drivers attached to it. One NamedTuple per kind; receivers dispatch on the
message's type. On the wire (`framing.Connection`) a message is the pickled tuple
`(kind number, *fields)`: `encode` and `decode` are its only conversions, cheaper to pickle
than a class reference.

Only authenticated peers reach these sockets: workers and the template are the node's own
children, and an attached driver has passed the token handshake first.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# -- from a worker or an attached driver to the node ------------------------------------


class Request(NamedTuple):
    """Run the node's request `op(*args)`; the node answers with Reply(rid) unless rid
    is 0 (one-way: a refused submission fails the task's results instead)."""

    rid: int
    op: str
    args: tuple


class RefEvents(NamedTuple):
    """The process's first ref to an object appeared (True) or its last one went."""

    events: list[tuple[bool, bytes]]


class Unpin(NamedTuple):
    """The process no longer reads these objects in the store (it had them pinned)."""

    object_ids: list[bytes]


class TaskDone(NamedTuple):
    """A task or actor call finished: its encoded results (or error), whether it may be
    retried, and (start, end) wall times."""

    task_id: bytes
    results: list
    retryable: bool
    times: tuple[float, float] | None = None


class GeneratorItem(NamedTuple):
    """One item of a streaming generator task, encoded as a result."""

    task_id: bytes
    index: int
    result: tuple


class ActorReady(NamedTuple):
    """The actor's constructor returned; `info` has its pid."""

    actor_id: bytes
    info: dict


class ActorFailed(NamedTuple):
    """The actor's constructor raised: the serialized error."""

    actor_id: bytes
    error: bytes


class ActorExit(NamedTuple):
    """The actor called exit_actor(): it is not to be restarted."""

    actor_id: bytes


class Attach(NamedTuple):
    """A driver attaching to a running node (after the handshake)."""

    pid: int
    namespace: str


# -- from the node to a worker or an attached driver -------------------------------------


class Hello(NamedTuple):
    """A new worker's settings: node and job ids, namespace, session dir, resources."""

    info: dict


class Welcome(NamedTuple):
    """An attached driver's settings (with its worker id and the store's capacity)."""

    info: dict


class Reply(NamedTuple):
    """The answer to Request(rid): (True, value) or (False, exception)."""

    rid: int
    ok: bool
    value: Any


class Execute(NamedTuple):
    """Run a spec: kind is "task", "actor_task" or "actor_init" (an ActorSpec); `spec`
    is its encoded form (`specs.decode(kind, spec)`)."""

    kind: str
    spec: tuple


class Cancel(NamedTuple):
    """Cancel this actor call if it runs here (async and threaded actors)."""

    task_id: bytes


class Collect(NamedTuple):
    """The store is filling up: run Python's collector to free refs held by cycles."""


class Warn(NamedTuple):
    """A warning for the driver's terminal (work that cannot be scheduled yet)."""

    message: str


class Exit(NamedTuple):
    """Exit now (the worker is retired, or the template is stopped)."""


# -- from the node to its worker template -------------------------------------------------


class Fork(NamedTuple):
    """Fork worker `wid` with these settings; its socket comes back over the fd channel."""

    wid: int
    setup: dict


class Preload(NamedTuple):
    """Import these modules in the template, so every worker has them."""

    modules: list[str]


# The wire's kind numbers: the position in this tuple (append new kinds at the end).
KINDS: tuple[type, ...] = (
    Request, Reply, Execute, TaskDone, GeneratorItem, RefEvents, Unpin, ActorReady,
    ActorFailed, ActorExit, Attach, Hello, Welcome, Cancel, Collect, Warn, Exit, Fork,
    Preload,
)
_NUMBER: dict[type, int] = {kind: i for i, kind in enumerate(KINDS)}
_WIDTH = tuple(len(kind._fields) for kind in KINDS)  # pyright: ignore[reportAttributeAccessIssue]


class MalformedMessage(ConnectionError):
    """A frame that is not one of these messages: the peer is dropped."""


def encode(msg: tuple) -> tuple:
    """The wire form of a message: (kind number, *fields)."""
    return (_NUMBER[type(msg)], *msg)


def decode(wire: Any) -> Any:
    """The message a wire tuple stands for (MalformedMessage if it is none)."""
    try:
        number = wire[0]
        if type(number) is not int or len(wire) != _WIDTH[number] + 1 or number < 0:
            raise MalformedMessage(f"not a message: kind {number!r}, {len(wire)} items")
        return tuple.__new__(KINDS[number], wire[1:])
    except (TypeError, IndexError, KeyError) as e:
        raise MalformedMessage(f"not a message: {type(wire).__name__}") from e


__all__ = [
    "ActorExit",
    "ActorFailed",
    "ActorReady",
    "Attach",
    "Cancel",
    "Collect",
    "decode",
    "encode",
    "Execute",
    "Exit",
    "Fork",
    "GeneratorItem",
    "Hello",
    "KINDS",
    "MalformedMessage",
    "Preload",
    "RefEvents",
    "Reply",
    "Request",
    "TaskDone",
    "Unpin",
    "Warn",
    "Welcome",
]
