"""Hugging Face Transformers' Trainer on ember.train workers
(Ray's `ray.train.huggingface.transformers`).

    def train_loop(config):
        trainer = transformers.Trainer(model=..., args=..., train_dataset=...)
        trainer.add_callback(RayTrainReportCallback())
        trainer = prepare_trainer(trainer)
        trainer.train()
"""

from ember.train.huggingface.transformers._transformers import (
    RayTrainReportCallback,
    prepare_trainer,
)

__all__ = ["RayTrainReportCallback", "prepare_trainer"]
