"""ember.train: distributed training on ember, with Ray Train's API.

    import ember.train as train
    from ember.train.torch import TorchTrainer, prepare_model

    def train_loop(config):
        model = prepare_model(build_model())
        for epoch in range(config["epochs"]):
            ...
            train.report({"loss": loss})

    result = TorchTrainer(train_loop, train_loop_config={"epochs": 2},
                          scaling_config=train.ScalingConfig(num_workers=2)).fit()

Subpackages: `ember.train.torch`, `ember.train.lightning`,
`ember.train.huggingface.transformers`, `ember.train.xgboost` (load on use).
"""

from ember.train.backend import BackendConfig
from ember.train.callback import RunContext, UserCallback
from ember.train.checkpoint import Checkpoint
from ember.train.config import (
    CheckpointConfig,
    DataConfig,
    FailureConfig,
    RunConfig,
    ScalingConfig,
)
from ember.train.context import (
    TrainContext,
    get_checkpoint,
    get_context,
    get_dataset_shard,
    report,
)
from ember.train.result import Result, TrainingFailedError
from ember.train.trainer import DataParallelTrainer

__all__ = [
    "BackendConfig",
    "Checkpoint",
    "CheckpointConfig",
    "DataConfig",
    "DataParallelTrainer",
    "FailureConfig",
    "Result",
    "RunConfig",
    "RunContext",
    "ScalingConfig",
    "TrainContext",
    "TrainingFailedError",
    "UserCallback",
    "get_checkpoint",
    "get_context",
    "get_dataset_shard",
    "report",
]
