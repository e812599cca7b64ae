"""Report callback and trainer preparation for transformers.Trainer."""

from __future__ import annotations

import os
from typing import Any

import transformers

from ember import train
from ember.train.checkpoint import Checkpoint

__all__ = ["RayTrainReportCallback", "prepare_trainer"]

CHECKPOINT_NAME = "checkpoint"


class RayTrainReportCallback(transformers.TrainerCallback):
    """Each time the Trainer saves: report the latest logged metrics with the saved
    checkpoint folder (found under `checkpoint/` in the reported checkpoint)."""

    def __init__(self) -> None:
        self._metrics: dict[str, Any] = {}

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None,
               **kwargs: Any) -> None:
        self._metrics.update(logs or {})

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        metrics = dict(self._metrics, step=state.global_step, epoch=state.epoch)
        checkpoint = None
        if os.path.isdir(folder) and state.is_world_process_zero:
            checkpoint = Checkpoint.from_directory(folder)
        train.report(metrics, checkpoint=checkpoint)


def prepare_trainer(trainer: Any) -> Any:
    """Check that a transformers.Trainer runs under ember.train, and return it."""
    if not isinstance(trainer, transformers.Trainer):
        raise TypeError(f"prepare_trainer expects a transformers.Trainer, "
                        f"got {type(trainer).__name__}.")
    world = train.get_context().get_world_size()
    if trainer.args.world_size != world:
        raise RuntimeError(f"The Trainer sees {trainer.args.world_size} processes but "
                           f"ember.train runs {world}: create TrainingArguments inside the "
                           f"training function.")
    return trainer
