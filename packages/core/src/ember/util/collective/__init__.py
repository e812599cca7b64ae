"""Collective communication among actors and tasks over gloo (CPU) or NCCL (GPU).

    import ember.util.collective as col

    col.init_collective_group(world_size=2, rank=rank, backend="gloo", group_name="g")
    col.allreduce(tensor, group_name="g")        # in place, on every rank

Ray's `ray.util.collective` API. Each group is a torch process group of its own (not
torch.distributed's default world), so it can be used beside a training job's group.
Tensors are torch tensors or writable numpy arrays, changed in place.
"""

from ember.util.collective.collective import (
    allgather,
    allreduce,
    barrier,
    broadcast,
    create_collective_group,
    destroy_collective_group,
    get_collective_group_size,
    get_rank,
    init_collective_group,
    is_group_initialized,
    recv,
    reduce,
    send,
)
from ember.util.collective.types import Backend, ReduceOp

__all__ = [
    "Backend",
    "ReduceOp",
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
