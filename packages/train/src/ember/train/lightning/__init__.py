"""PyTorch Lightning on ember.train workers (Ray's `ray.train.lightning`).

    def train_loop(config):
        trainer = pl.Trainer(strategy=RayDDPStrategy(), plugins=[RayLightningEnvironment()],
                             callbacks=[RayTrainReportCallback()], devices="auto",
                             accelerator="cpu", enable_progress_bar=False)
        trainer = prepare_trainer(trainer)
        trainer.fit(model, datamodule)

    TorchTrainer(train_loop, scaling_config=ScalingConfig(num_workers=2)).fit()
"""

from ember.train.lightning._lightning import (
    RayDDPStrategy,
    RayFSDPStrategy,
    RayLightningEnvironment,
    RayTrainReportCallback,
    prepare_trainer,
)

__all__ = [
    "RayDDPStrategy",
    "RayFSDPStrategy",
    "RayLightningEnvironment",
    "RayTrainReportCallback",
    "prepare_trainer",
]
