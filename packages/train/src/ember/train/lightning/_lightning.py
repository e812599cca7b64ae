"""Lightning strategy, cluster environment and report callback over ember.train."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import torch

from ember import train
from ember.train.checkpoint import Checkpoint
from ember.train.torch.train_loop_utils import get_device

try:
    import lightning.pytorch as pl
    from lightning.fabric.plugins.environments import ClusterEnvironment
except ImportError:  # the older distribution name
    import pytorch_lightning as pl  # type: ignore[no-redef]
    from lightning_fabric.plugins.environments import (  # type: ignore[no-redef]
        ClusterEnvironment,
    )

__all__ = ["RayDDPStrategy", "RayFSDPStrategy", "RayLightningEnvironment",
           "RayTrainReportCallback", "prepare_trainer"]

CHECKPOINT_NAME = "checkpoint.ckpt"


class RayLightningEnvironment(ClusterEnvironment):
    """Ranks and sizes from ember.train's context: the workers already exist."""

    @property
    def creates_processes_externally(self) -> bool:
        return True

    @property
    def main_address(self) -> str:
        return os.environ.get("MASTER_ADDR", "127.0.0.1")

    @property
    def main_port(self) -> int:
        return int(os.environ.get("MASTER_PORT", "0"))

    @staticmethod
    def detect() -> bool:
        return True

    def world_size(self) -> int:
        return train.get_context().get_world_size()

    def set_world_size(self, size: int) -> None:
        pass  # fixed by the trainer's ScalingConfig

    def global_rank(self) -> int:
        return train.get_context().get_world_rank()

    def set_global_rank(self, rank: int) -> None:
        pass

    def local_rank(self) -> int:
        return train.get_context().get_local_rank()

    def node_rank(self) -> int:
        return train.get_context().get_node_rank()

    def teardown(self) -> None:
        pass


class _RayStrategyMixin:
    @property
    def root_device(self) -> torch.device:
        return get_device()

    @property
    def distributed_sampler_kwargs(self) -> dict[str, Any]:
        ctx = train.get_context()
        return {"num_replicas": ctx.get_world_size(), "rank": ctx.get_world_rank()}


class RayDDPStrategy(_RayStrategyMixin, pl.strategies.DDPStrategy):
    """DDP over the process group TorchTrainer already set up."""


class RayFSDPStrategy(_RayStrategyMixin, pl.strategies.FSDPStrategy):
    """FSDP over the process group TorchTrainer already set up."""


class RayTrainReportCallback(pl.callbacks.Callback):
    """At each training epoch's end: report the logged metrics (plus epoch and step) and
    a checkpoint holding `checkpoint.ckpt`, saved by rank 0."""

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        metrics = {k: (v.item() if isinstance(v, torch.Tensor) else v)
                   for k, v in trainer.callback_metrics.items()}
        metrics.update(epoch=trainer.current_epoch, step=trainer.global_step)
        tmpdir = tempfile.mkdtemp(prefix="lightning_ckpt_")
        try:
            trainer.save_checkpoint(os.path.join(tmpdir, CHECKPOINT_NAME), weights_only=False)
            checkpoint = Checkpoint.from_directory(tmpdir) if trainer.global_rank == 0 else None
            train.report(metrics, checkpoint=checkpoint)
        finally:
            trainer.strategy.barrier()
            shutil.rmtree(tmpdir, ignore_errors=True)


def prepare_trainer(trainer: Any) -> Any:
    """Check that a Lightning Trainer is set up for ember.train, and return it."""
    strategy = trainer.strategy
    if not isinstance(strategy, (RayDDPStrategy, RayFSDPStrategy,
                                 pl.strategies.SingleDeviceStrategy)):
        raise RuntimeError(f"Use RayDDPStrategy (or RayFSDPStrategy) as the Trainer's "
                           f"strategy, got {type(strategy).__name__}.")
    env = getattr(strategy, "cluster_environment", None)
    if env is not None and not isinstance(env, RayLightningEnvironment):
        raise RuntimeError("Pass plugins=[RayLightningEnvironment()] to the Trainer.")
    return trainer
