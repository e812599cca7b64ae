"""TorchConfig: torch.distributed's process group over the worker group.

Rank 0 hosts the rendezvous store on its node's address, on a port the OS picks, and the
others connect to it: no port is guessed. gloo on CPU, NCCL when workers have GPUs.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any

from ember.train.backend import BackendConfig

__all__ = ["TorchConfig"]

_store: dict[str, Any] = {}


def _import_torch() -> None:
    """Import what a training loop uses (torch, DDP, data loaders) before it starts."""
    import ember.train.torch  # noqa: F401


def _warm_torch() -> None:
    """A standby's head start: torch, and what DistributedDataParallel loads when first
    built (torch._dynamo, sympy: seconds of CPU)."""
    _import_torch()
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # noqa: BLE001 - only a head start
        pass


def _host_store(host: str, world_size: int, timeout_s: float) -> int:
    """On rank 0: start the rendezvous store; returns its port."""
    import torch.distributed as dist

    store = dist.TCPStore(host, 0, world_size, is_master=True,
                          timeout=datetime.timedelta(seconds=timeout_s), wait_for_workers=False)
    _store["store"] = store
    return store.port


def _init_process_group(host: str, port: int, rank: int, world_size: int, local_rank: int,
                        local_world_size: int, node_rank: int, backend: str,
                        timeout_s: float, num_threads: int) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, num_threads))
    os.environ.update(MASTER_ADDR=host, MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(local_rank),
                      LOCAL_WORLD_SIZE=str(local_world_size), NODE_RANK=str(node_rank),
                      GROUP_RANK=str(node_rank))
    timeout = datetime.timedelta(seconds=timeout_s)
    store = _store.get("store") if rank == 0 else None
    if store is None:
        store = dist.TCPStore(host, port, world_size, is_master=False, timeout=timeout)
        _store["store"] = store
    if backend == "nccl":
        torch.cuda.set_device(_cuda_index(local_rank))
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group(backend, store=store, rank=rank, world_size=world_size,
                            timeout=timeout)


def _cuda_index(local_rank: int) -> int:
    import torch

    count = torch.cuda.device_count()
    return local_rank if count > local_rank else 0


def _destroy_process_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    _store.clear()


@dataclasses.dataclass
class TorchConfig(BackendConfig):
    """backend: "gloo" or "nccl" (default: nccl with GPUs, else gloo); timeout_s bounds
    the rendezvous and every collective operation."""

    backend: str | None = None
    init_method: str = "tcp"
    timeout_s: float = 1800.0

    def resolved_backend(self, use_gpu: bool) -> str:
        return self.backend or ("nccl" if use_gpu else "gloo")

    def on_start(self, group: Any) -> None:
        import ember

        n = len(group)
        scaling = group.scaling
        backend = self.resolved_backend(scaling.use_gpu)
        group.execute(_import_torch)  # all workers at once (it takes a while)
        host = group.infos[0].node_ip
        port = ember.get(group.workers[0].execute.remote(_host_store, host, n, self.timeout_s))
        local, sizes, nodes = group.local_ranks()
        threads = int(scaling.worker_resources().get("CPU", 1.0))
        group.execute_each(_init_process_group, [
            (host, port, r, n, local[r], sizes[r], nodes[r], backend, self.timeout_s, threads)
            for r in range(n)])

    def warm_up(self) -> Any:
        return _warm_torch

    def on_shutdown(self, group: Any) -> None:
        try:
            group.execute(_destroy_process_group)
        except Exception:  # noqa: BLE001 - the workers are removed next anyway
            pass
