"""What a node needs from the cluster's transport, as plain Python types.

The node manager never builds or reads a protobuf message: `ember._cluster.link` turns
these calls into gRPC requests and the node service turns requests back into calls on
the node's components. A node outside a cluster has no port (`NodeManager.link` is None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ember._core.common.specs import ActorSpec, TaskSpec


@dataclass(frozen=True, slots=True)
class Dep:
    """A value that travels with work or results sent to another node.

    Exactly one of: `pending` (its value follows once ready), `holder` (the node that
    lends it; the receiver pulls `size` bytes when something waits for it), or `data`
    (the serialized value itself). `contained` lists the refs nested in the value.
    """

    object_id: bytes
    pending: bool = False
    holder: str = ""
    size: int = 0
    data: bytes = b""
    contained: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class ForwardFailure:
    """Why a peer did not take forwarded work: the reason, and whether the peer could not
    be reached at all (its link failed, rather than the peer refusing the work)."""

    why: str
    unreachable: bool = False


class Forwarded(NamedTuple):
    """Work or news for a peer: kind "task", "actor_init" or "actor_task" with its spec;
    "values" (the values of refs that were pending when work was sent); "job_end" with
    the driver's job; "cancel" of the task making `object_id`."""

    kind: str
    spec: TaskSpec | ActorSpec | None = None
    job: str = ""
    object_id: bytes = b""
    force: bool = False
    recursive: bool = False


@dataclass(frozen=True, slots=True)
class ActorRow:
    """An actor as the control store records it (the owner publishes every change)."""

    actor_id: bytes
    name: str
    namespace: str
    class_name: str
    state: str
    owner_node: str
    data: bytes
    node_id: str = ""
    detached: bool = False
    num_restarts: int = 0
    death_cause: str = ""


class ControlStore(Protocol):
    """The control store calls the node makes (ember._cluster.gcs_client.GcsClient).
    Rows come back as the store's records, read by attribute (ActorRow's fields)."""

    def register_actor(self, actor: ActorRow, get_if_exists: bool = False
                       ) -> tuple[Any, bool]:
        """Claim a named actor's name: (the row now registered, whether it existed)."""
        ...

    def update_actor(self, actor: ActorRow) -> None:
        """Record an actor's new state."""
        ...

    def get_actor(self, actor_id: bytes) -> Any | None:
        """An actor's row, or None."""
        ...

    def get_named_actor(self, name: str, namespace: str) -> Any | None:
        """A named actor's row, or None."""
        ...

    def actors(self) -> list[Any]:
        """Every actor the store records (rows with ActorRow's fields), any owner's."""
        ...

    def jobs(self) -> list[Any]:
        """Every driver's job the control store has recorded (read by attribute:
        job_id, status, start_time, end_time, driver_pid)."""
        ...

    def kv_put(self, key: bytes, value: bytes, overwrite: bool = True, ns: str = "") -> bool:
        """Store a key's value; whether the key was added (it did not exist)."""
        ...

    def kv_get(self, key: bytes, ns: str = "") -> bytes | None:
        """A key's value, or None."""
        ...

    def kv_del(self, key: bytes, by_prefix: bool = False, ns: str = "") -> int:
        """Delete a key (or every key with that prefix); how many were deleted."""
        ...

    def kv_keys(self, prefix: bytes = b"", ns: str = "") -> list[bytes]:
        """The keys with this prefix."""
        ...


class ClusterPort(Protocol):
    """The cluster transport of one node. Every method may be called under the node's
    lock: those that talk to a peer queue the request and return at once, except
    `reserve_bundles` and `pull`, which block and are called from `run` threads."""

    address: str  # where peers reach this node's service

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on a background thread (blocking calls to peers)."""
        ...

    def run_ordered(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the one thread that updates the control store, in order."""
        ...

    def forward(self, address: str, item: Forwarded, deps: Sequence[Dep],
                on_fail: Callable[[ForwardFailure], None]) -> None:
        """Send work (a task, an actor, an actor call, values, a job's end) to a peer, in
        order with everything else sent to it; `on_fail(failure)` if it is not taken."""
        ...

    def send_result(self, owner_address: str, task_id: bytes, results: Any, retryable: bool,
                    deps: Sequence[Dep], item: int = 0) -> None:
        """A task's results (or one item of a streaming generator) for its owner."""
        ...

    def kill_actor(self, address: str, actor_id: bytes, no_restart: bool) -> None:
        """Ask a peer to kill an actor."""
        ...

    def free_objects(self, address: str, object_ids: list[bytes]) -> None:
        """Tell a peer it may free its copies of these objects."""
        ...

    def reserve_bundles(self, address: str, pg_id: str, bundles: list[dict], here: list[bool],
                        strategy: str, name: str, attempt: int) -> str:
        """Ask a peer to hold its bundles of a group: "" if it did, else why not. Blocks."""
        ...

    def return_bundles(self, address: str, pg_id: str, attempt: int) -> None:
        """Tell a peer to give back the bundles it holds for one attempt of a group."""
        ...

    def pull(self, address: str, transfer_address: str, object_id: bytes, region: Any,
             offset: int, size: int) -> None:
        """Copy an object from a peer into `region` at `offset`. Blocks; raises if the
        peer cannot be reached."""
        ...

    def stop(self) -> None:
        """Stop serving and sending."""
        ...


__all__ = ["ActorRow", "ClusterPort", "ControlStore", "Dep", "Forwarded"]
