"""TorchTrainer: data-parallel PyTorch training on a group of ember workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.train.checkpoint import Checkpoint
from ember.train.config import DataConfig, RunConfig, ScalingConfig
from ember.train.torch.config import TorchConfig
from ember.train.trainer import DataParallelTrainer

__all__ = ["TorchTrainer"]


class TorchTrainer(DataParallelTrainer):
    """Runs `train_loop_per_worker` on every worker after setting up torch.distributed
    (gloo on CPU, NCCL on GPU); use prepare_model / prepare_data_loader in the loop."""

    _default_backend_config = TorchConfig

    def __init__(self, train_loop_per_worker: Callable[..., Any], *,
                 train_loop_config: dict[str, Any] | None = None,
                 torch_config: TorchConfig | None = None,
                 scaling_config: ScalingConfig | None = None,
                 run_config: RunConfig | None = None,
                 datasets: dict[str, Any] | None = None,
                 dataset_config: DataConfig | None = None,
                 resume_from_checkpoint: Checkpoint | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        if torch_config is not None and not isinstance(torch_config, TorchConfig):
            raise TypeError("torch_config must be an ember.train.torch.TorchConfig.")
        super().__init__(train_loop_per_worker, train_loop_config=train_loop_config,
                         backend_config=torch_config or TorchConfig(),
                         scaling_config=scaling_config, run_config=run_config,
                         datasets=datasets, dataset_config=dataset_config,
                         resume_from_checkpoint=resume_from_checkpoint, metadata=metadata)
