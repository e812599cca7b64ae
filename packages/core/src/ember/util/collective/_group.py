"""One process's membership of a collective group: a torch process group of its own.

The group is built directly on torch's backend classes (`ProcessGroupGloo`,
`ProcessGroupNCCL`) over a `TCPStore`, never through `torch.distributed`'s default
world, so it lives beside (and never disturbs) a training job's own process group.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ember.util.collective.types import Backend, ReduceOp

__all__ = ["Group", "as_tensor"]

_TORCH_OPS = {
    ReduceOp.SUM: dist.ReduceOp.SUM,
    ReduceOp.PRODUCT: dist.ReduceOp.PRODUCT,
    ReduceOp.MIN: dist.ReduceOp.MIN,
    ReduceOp.MAX: dist.ReduceOp.MAX,
}


def as_tensor(value: Any) -> torch.Tensor:
    """A torch view of `value` (a tensor, or a numpy array shared in place)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if not value.flags.writeable:
            raise ValueError("Collective operations write into their array in place, but this "
                             "numpy array is read-only (copy it first, e.g. array.copy()).")
        return torch.from_numpy(value)
    raise TypeError(f"Collective operations take torch tensors or numpy arrays, "
                    f"not {type(value).__name__}.")


class Group:
    """A rank's handle on its process group. Not thread-safe: one caller at a time."""

    # torch.distributed imports its store classes from torch._C without re-exporting them
    # (no `as`, no __all__), so checkers call this documented API private.
    def __init__(self, name: str, world_size: int, rank: int, backend: Backend,
                 store: dist.Store,  # pyright: ignore[reportPrivateImportUsage]
                 host: str, timeout_s: float) -> None:
        self.name = name
        self.world_size = world_size
        self.rank = rank
        self.backend = backend
        self._store = store  # rank 0 serves it: keep it for the group's life
        prefixed = dist.PrefixStore(  # pyright: ignore[reportPrivateImportUsage]
            f"ember.collective/{name}", store)
        timeout = datetime.timedelta(seconds=timeout_s)
        if backend is Backend.NCCL:
            # torch's stub lists only the constructor with options; the binding also
            # takes (store, rank, size) with default options.
            self._pg: Any = dist.ProcessGroupNCCL(  # pyright: ignore[reportCallIssue]
                prefixed, rank, world_size)
        else:
            # torch's stub omits the binding's `_Options` (the options the constructor
            # takes; `Options` is the generic Backend.Options).
            opts = dist.ProcessGroupGloo._Options()  # pyright: ignore[reportAttributeAccessIssue]
            opts._devices = [dist.ProcessGroupGloo.create_device(hostname=host)]
            opts._timeout = timeout
            self._pg = dist.ProcessGroupGloo(prefixed, rank, world_size, opts)

    def allreduce(self, tensor: torch.Tensor, op: ReduceOp) -> None:
        opts = dist.AllreduceOptions()
        opts.reduceOp = _TORCH_OPS[op]
        self._pg.allreduce([tensor], opts).wait()

    def allgather(self, outputs: list[torch.Tensor], tensor: torch.Tensor) -> None:
        self._pg.allgather([outputs], [tensor]).wait()

    def broadcast(self, tensor: torch.Tensor, src_rank: int) -> None:
        opts = dist.BroadcastOptions()
        opts.rootRank = src_rank
        opts.rootTensor = 0
        self._pg.broadcast([tensor], opts).wait()

    def reduce(self, tensor: torch.Tensor, dst_rank: int, op: ReduceOp) -> None:
        opts = dist.ReduceOptions()
        opts.reduceOp = _TORCH_OPS[op]
        opts.rootRank = dst_rank
        opts.rootTensor = 0
        self._pg.reduce([tensor], opts).wait()

    def barrier(self) -> None:
        if self.backend is Backend.NCCL:
            # NCCL's barrier needs a device; an allreduce of one element does the same.
            t = torch.zeros(1, device="cuda")
            self.allreduce(t, ReduceOp.SUM)
            torch.cuda.synchronize()
        else:
            self._pg.barrier(dist.BarrierOptions()).wait()

    def send(self, tensor: torch.Tensor, dst_rank: int) -> None:
        self._pg.send([tensor], dst_rank, 0).wait()

    def recv(self, tensor: torch.Tensor, src_rank: int) -> None:
        self._pg.recv([tensor], src_rank, 0).wait()

    def destroy(self) -> None:
        pg, self._pg = self._pg, None
        if pg is not None and hasattr(pg, "shutdown"):
            try:
                pg.shutdown()
            except Exception:  # noqa: BLE001 - best effort on teardown
                pass
        self._store = None
