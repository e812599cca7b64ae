"""Helpers for the training loop: devices, DDP/FSDP wrapping, distributed data loaders,
mixed precision and reproducibility (Ray's `ray.train.torch` functions)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

__all__ = [
    "accelerate",
    "backward",
    "enable_reproducibility",
    "get_device",
    "get_devices",
    "prepare_data_loader",
    "prepare_model",
    "prepare_optimizer",
]

_amp: dict[str, Any] = {"enabled": False, "scaler": None}


def _world() -> tuple[int, int, int]:
    """(world rank, world size, local rank) of this worker (0, 1, 0 outside training)."""
    try:
        from ember.train.context import get_context

        ctx = get_context()
        return ctx.get_world_rank(), ctx.get_world_size(), ctx.get_local_rank()
    except RuntimeError:
        return 0, 1, 0


def get_device() -> torch.device:
    """The device this worker trains on: its GPU when it has one, else the CPU."""
    if torch.cuda.is_available() and os.environ.get("CUDA_VISIBLE_DEVICES", "") != "":
        _, _, local = _world()
        count = torch.cuda.device_count()
        return torch.device("cuda", local if count > local else 0)
    return torch.device("cpu")


def get_devices() -> list[torch.device]:
    """The devices of this worker (one)."""
    return [get_device()]


def accelerate(amp: bool = False) -> None:
    """Turn on automatic mixed precision for prepare_model/prepare_optimizer/backward:
    bf16 autocast on CPU, fp16 autocast with gradient scaling on GPU."""
    _amp["enabled"] = bool(amp)


class _AutocastForward:
    """Runs the model's forward under torch.autocast; outputs back in float32."""

    def __init__(self, forward: Any, device_type: str) -> None:
        self.forward = forward
        self.device_type = device_type
        self.dtype = torch.bfloat16 if device_type == "cpu" else torch.float16

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device_type=self.device_type, dtype=self.dtype):
            out = self.forward(*args, **kwargs)
        return _to_float(out)


def _to_float(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, tuple | list):
        return type(out)(_to_float(o) for o in out)
    if isinstance(out, dict):
        return {k: _to_float(v) for k, v in out.items()}
    return out


def prepare_model(model: torch.nn.Module, move_to_device: bool | torch.device = True,
                  parallel_strategy: str | None = "ddp",
                  parallel_strategy_kwargs: dict[str, Any] | None = None) -> torch.nn.Module:
    """Move the model to this worker's device and wrap it for data-parallel training.

    parallel_strategy: "ddp" (DistributedDataParallel), "fsdp" (FullyShardedDataParallel)
    or None; nothing is wrapped when there is a single worker. With accelerate(amp=True)
    the forward pass runs under torch.autocast (bf16 on CPU).
    """
    if parallel_strategy not in ("ddp", "fsdp", None):
        raise ValueError(f"parallel_strategy must be 'ddp', 'fsdp' or None, "
                         f"got {parallel_strategy!r}.")
    device = move_to_device if isinstance(move_to_device, torch.device) else get_device()
    if move_to_device is not False:
        model = model.to(device)
    if _amp["enabled"]:
        model.forward = _AutocastForward(model.forward, device.type)  # type: ignore[method-assign]
    _, world_size, _ = _world()
    kwargs = dict(parallel_strategy_kwargs or {})
    if world_size <= 1 or parallel_strategy is None:
        return model
    if parallel_strategy == "fsdp":
        if device.type == "cpu":
            return _fully_shard_on_cpu(model, world_size, kwargs)
        from torch.distributed.fsdp import FullyShardedDataParallel

        kwargs.setdefault("device_id", device)
        return FullyShardedDataParallel(model, **kwargs)
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        kwargs.setdefault("device_ids", [device])
        kwargs.setdefault("output_device", device)
    return DistributedDataParallel(model, **kwargs)


def _fully_shard_on_cpu(model: torch.nn.Module, world_size: int,
                        kwargs: dict[str, Any]) -> torch.nn.Module:
    """FSDP on CPU (FSDP1 needs an accelerator): torch's fully_shard over a CPU mesh,
    each direct child sharded on its own, then the root."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cpu", (world_size,))
    for child in model.children():
        if any(p.requires_grad for p in child.parameters()):
            fully_shard(child, mesh=mesh, **kwargs)
    return fully_shard(model, mesh=mesh, **kwargs)


class _GradScaledOptimizer:
    """An optimizer whose step() goes through a GradScaler (fp16 on GPU)."""

    def __init__(self, optimizer: torch.optim.Optimizer, scaler: Any) -> None:
        self.optimizer = optimizer
        self.scaler = scaler

    def step(self, closure: Any = None) -> Any:
        out = self.scaler.step(self.optimizer, closure) if closure else \
            self.scaler.step(self.optimizer)
        self.scaler.update()
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def prepare_optimizer(optimizer: torch.optim.Optimizer) -> Any:
    """With accelerate(amp=True) on GPU: an optimizer that scales gradients."""
    if _amp["enabled"] and get_device().type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
        _amp["scaler"] = scaler
        return _GradScaledOptimizer(optimizer, scaler)
    return optimizer


def backward(tensor: torch.Tensor) -> None:
    """tensor.backward(), scaled when mixed precision needs it."""
    scaler = _amp["scaler"]
    if scaler is not None:
        scaler.scale(tensor).backward()
    else:
        tensor.backward()


class _DeviceLoader:
    """A DataLoader whose batches land on the worker's device; each pass over it starts
    the next epoch of its DistributedSampler."""

    def __init__(self, loader: DataLoader, device: torch.device | None) -> None:
        self.loader = loader
        self.device = device
        self._epoch = 0

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def _move(self, item: Any) -> Any:
        if self.device is None:
            return item
        if isinstance(item, torch.Tensor):
            return item.to(self.device, non_blocking=True)
        if isinstance(item, tuple | list):
            return type(item)(self._move(i) for i in item)
        if isinstance(item, dict):
            return {k: self._move(v) for k, v in item.items()}
        return item

    def __iter__(self) -> Iterator[Any]:
        sampler = getattr(self.loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(self._epoch)
        self._epoch += 1
        for batch in self.loader:
            yield self._move(batch)


def prepare_data_loader(data_loader: DataLoader, add_dist_sampler: bool = True,
                        move_to_device: bool = True, auto_transfer: bool = True) -> Any:
    """Give each worker its own part of the data (a DistributedSampler, shuffled when the
    loader shuffled) and move its batches to the worker's device."""
    _, world_size, _ = _world()
    rank = _world()[0]
    loader = data_loader
    if add_dist_sampler and world_size > 1 and not isinstance(loader.sampler,
                                                              DistributedSampler):
        shuffle = isinstance(loader.sampler, RandomSampler)
        sampler = DistributedSampler(loader.dataset, num_replicas=world_size, rank=rank,
                                     shuffle=shuffle)
        loader = DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                            num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                            pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                            timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                            generator=loader.generator,
                            persistent_workers=loader.persistent_workers)
    device = get_device() if move_to_device else None
    return _DeviceLoader(loader, device)


def enable_reproducibility(seed: int = 0) -> None:
    """Seed torch, numpy and random, and ask torch for deterministic algorithms."""
    import numpy as np

    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
