"""The collective API among actors and tasks (Ray's `ray.util.collective`).

Every member calls `init_collective_group(world_size, rank, ...)`, or the driver declares
the group once with `create_collective_group(actors, ...)` and each actor joins on its
first operation. Operations work in place on torch tensors or writable numpy arrays and
block until every rank has taken part.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ember
from ember.util.collective import _rendezvous
from ember.util.collective.types import Backend, ReduceOp

if TYPE_CHECKING:
    from ember.util.collective._group import Group

__all__ = [
    "allgather",
    "allreduce",
    "barrier",
    "broadcast",
    "create_collective_group",
    "destroy_collective_group",
    "get_collective_group_size",
    "get_rank",
    "init_collective_group",
    "is_group_initialized",
    "recv",
    "reduce",
    "send",
]

DEFAULT_TIMEOUT_S = 1800.0

# torch loads on first use, so that the rendezvous actors (defined in this package) start
# without it.

_groups: dict[str, Group] = {}
_lock = threading.Lock()


def _node_address() -> str:
    """This node's address as the cluster knows it (127.0.0.1 on a one-machine cluster)."""
    node_id = ember.get_runtime_context().get_node_id()
    for node in ember.nodes():
        if node.get("NodeID") == node_id:
            return node.get("NodeManagerAddress") or "127.0.0.1"
    return "127.0.0.1"


def init_collective_group(world_size: int, rank: int, backend: str | Backend = "gloo",
                          group_name: str = "default", *,
                          timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Join group `group_name` as `rank` of `world_size`; returns once all ranks joined."""
    import torch.distributed as dist

    be = Backend.parse(backend)
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}.")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}.")
    if not group_name:
        raise ValueError("group_name must not be empty.")
    with _lock:
        if group_name in _groups:
            raise RuntimeError(f"Collective group {group_name!r} is already initialized here.")
    import datetime

    timeout = datetime.timedelta(seconds=timeout_s)
    host = _node_address()
    rv = _rendezvous.Rendezvous.options(
        name=_rendezvous.rendezvous_actor_name(group_name), get_if_exists=True).remote()
    # torch.distributed imports TCPStore from torch._C without re-exporting it (no `as`,
    # no __all__), so checkers call this documented class private.
    if rank == 0:
        store = dist.TCPStore(  # pyright: ignore[reportPrivateImportUsage]
            host, 0, world_size, is_master=True, timeout=timeout, wait_for_workers=False)
        ember.get(rv.publish.remote(_rendezvous.StoreAddress(host, store.port)))
    else:
        addr = ember.get(rv.address.remote(), timeout=timeout_s)
        store = dist.TCPStore(  # pyright: ignore[reportPrivateImportUsage]
            addr.host, addr.port, world_size, is_master=False, timeout=timeout)
    from ember.util.collective._group import Group

    group = Group(group_name, world_size, rank, be, store, host, timeout_s)
    if rank == 0:
        # Every rank is connected (the group could not form otherwise): a later group of
        # this name must not find this address.
        ember.kill(rv)
    with _lock:
        _groups[group_name] = group


def create_collective_group(actors: Sequence[Any], world_size: int, ranks: Sequence[int],
                            backend: str | Backend = "gloo",
                            group_name: str = "default") -> None:
    """Declare a group of actors from the driver; each joins on its first operation."""
    be = Backend.parse(backend)
    if len(actors) != world_size or len(ranks) != world_size:
        raise ValueError(f"Need {world_size} actors and ranks, got {len(actors)} actors and "
                         f"{len(ranks)} ranks.")
    if sorted(ranks) != list(range(world_size)):
        raise ValueError(f"ranks must be a permutation of 0..{world_size - 1}, got {list(ranks)}.")
    name = _rendezvous.info_actor_name(group_name)
    try:
        ember.get_actor(name)
    except ValueError:
        pass
    else:
        raise RuntimeError(f"Collective group {group_name!r} is already declared.")
    info = _rendezvous.GroupInfo(tuple(a._ember_actor_id.hex() for a in actors),
                                 tuple(int(r) for r in ranks), world_size, be.value)
    # Detached, as Ray's: it outlives this call's handle (destroy_collective_group ends it).
    holder = _rendezvous.InfoHolder.options(name=name, lifetime="detached").remote(info)
    ember.get(holder.info.remote())  # the name is claimed before we return


def as_tensor(value: Any) -> Any:
    """A torch view of a tensor or writable numpy array (shares its memory)."""
    from ember.util.collective._group import as_tensor as convert

    return convert(value)


def _declared(group_name: str) -> _rendezvous.GroupInfo | None:
    try:
        holder = ember.get_actor(_rendezvous.info_actor_name(group_name))
    except ValueError:
        return None
    return ember.get(holder.info.remote())


def _group(group_name: str) -> Group:
    with _lock:
        group = _groups.get(group_name)
    if group is not None:
        return group
    info = _declared(group_name)
    actor_id = ember.get_runtime_context().get_actor_id()
    rank = info.rank_of(actor_id) if info is not None and actor_id else None
    if info is None or rank is None:
        raise RuntimeError(f"Collective group {group_name!r} is not initialized in this "
                           f"process: call init_collective_group() first, or declare it with "
                           f"create_collective_group() listing this actor.")
    init_collective_group(info.world_size, rank, info.backend, group_name)
    return _groups[group_name]


def destroy_collective_group(group_name: str = "default") -> None:
    """Leave the group here (in a member) or drop its declaration (on the driver)."""
    with _lock:
        group = _groups.pop(group_name, None)
    if group is not None:
        group.destroy()
        return
    try:
        ember.kill(ember.get_actor(_rendezvous.info_actor_name(group_name)))
    except ValueError:
        pass


def is_group_initialized(group_name: str = "default") -> bool:
    """Whether this process has joined `group_name`."""
    with _lock:
        return group_name in _groups


def get_rank(group_name: str = "default") -> int:
    """This process's rank in the group, or -1 if it has not joined it."""
    with _lock:
        group = _groups.get(group_name)
    return group.rank if group is not None else -1


def get_collective_group_size(group_name: str = "default") -> int:
    """The group's world size, or -1 if this process has not joined it."""
    with _lock:
        group = _groups.get(group_name)
    return group.world_size if group is not None else -1


def allreduce(tensor: Any, group_name: str = "default", op: ReduceOp = ReduceOp.SUM) -> None:
    """Combine `tensor` across ranks with `op`; every rank gets the result in place."""
    t = as_tensor(tensor)
    _group(group_name).allreduce(t, op)


def allgather(tensor_list: list[Any], tensor: Any, group_name: str = "default") -> None:
    """Fill `tensor_list[r]` with rank r's `tensor`, on every rank."""
    group = _group(group_name)
    if len(tensor_list) != group.world_size:
        raise ValueError(f"tensor_list needs {group.world_size} entries (one per rank), "
                         f"got {len(tensor_list)}.")
    group.allgather([as_tensor(t) for t in tensor_list], as_tensor(tensor))


def broadcast(tensor: Any, src_rank: int = 0, group_name: str = "default") -> None:
    """Overwrite `tensor` on every rank with `src_rank`'s."""
    _group(group_name).broadcast(as_tensor(tensor), src_rank)


def reduce(tensor: Any, dst_rank: int = 0, group_name: str = "default",
           op: ReduceOp = ReduceOp.SUM) -> None:
    """Combine `tensor` across ranks into `dst_rank`'s copy."""
    _group(group_name).reduce(as_tensor(tensor), dst_rank, op)


def barrier(group_name: str = "default") -> None:
    """Return once every rank of the group has called barrier."""
    _group(group_name).barrier()


def send(tensor: Any, dst_rank: int, group_name: str = "default") -> None:
    """Send `tensor` to `dst_rank` (which calls `recv`)."""
    _group(group_name).send(as_tensor(tensor), dst_rank)


def recv(tensor: Any, src_rank: int, group_name: str = "default") -> None:
    """Receive into `tensor` what `src_rank` sends."""
    _group(group_name).recv(as_tensor(tensor), src_rank)
