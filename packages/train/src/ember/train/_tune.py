"""A trainer as a Tune trainable: each trial runs one fit() of a copy of the trainer.

The trial's placement group holds a small head bundle for the trial's own process and
one bundle per training worker, so Tune only starts a trial when its workers fit; the
workers are placed in those bundles. Each report of rank 0 becomes a Tune result (with
its checkpoint), so Tune's schedulers can stop a trial between reports.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from ember.train.callback import RunContext, UserCallback
from ember.train.checkpoint import Checkpoint

__all__ = ["trainable_for"]

# The trial's own process: it only waits on its workers. Memory (one byte) rather than a
# CPU, so that every CPU is left to the workers.
_HEAD_BUNDLE = {"memory": 1.0}
_TRAINER_ARGS = ("train_loop_config", "scaling_config", "run_config", "datasets",
                 "dataset_config", "backend_config", "torch_config", "metadata")


class _TuneReporter(UserCallback):
    """Hands rank 0's metrics and the stored checkpoint of each report to Tune."""

    def after_report(self, run_context: RunContext, metrics: list[dict[str, Any]],
                     checkpoint: Checkpoint | None) -> None:
        from ember import tune

        tune_ck = tune.Checkpoint(checkpoint.path) if checkpoint is not None else None
        tune.report(dict(metrics[0]), checkpoint=tune_ck)


def _trial_trainer(base: Any, config: dict[str, Any]) -> Any:
    trainer = copy.copy(base)
    for key, value in config.items():
        if key == "train_loop_config":
            trainer.train_loop_config = {**(base.train_loop_config or {}), **value}
        elif key == "torch_config":
            trainer.backend_config = value
        elif key in _TRAINER_ARGS:
            setattr(trainer, key, value)
        else:
            raise ValueError(f"param_space key {key!r} is not a trainer argument; use "
                             f"{list(_TRAINER_ARGS)} (e.g. {{'train_loop_config': {{...}}}}).")
    return trainer


def trainable_for(base: Any) -> type:
    """The Tune trainable class for trainer `base` (see DataParallelTrainer.as_trainable)."""
    from ember import tune
    from ember.tune.trainable.function_trainable import wrap_function

    scaling = base.scaling_config
    bundles = [dict(_HEAD_BUNDLE)] + [scaling.worker_resources()] * scaling.max_workers
    resources = tune.PlacementGroupFactory(bundles, strategy=scaling.placement_strategy)

    def train_trial(config: dict[str, Any]) -> None:
        from ember.util import get_current_placement_group, placement_group_table

        trainer = _trial_trainer(base, config)
        ctx = tune.get_context()
        rc = trainer.run_config
        trainer.run_config = dataclasses.replace(
            rc, name="train", storage_path=ctx.get_trial_dir(), storage_filesystem=None,
            callbacks=[*(rc.callbacks or []), _TuneReporter()], verbose=0)
        tune_ck = tune.get_checkpoint()
        if tune_ck is not None:
            trainer.resume_from_checkpoint = Checkpoint(tune_ck.path)
        pg = get_current_placement_group()
        if pg is not None and len(placement_group_table(pg).get("bundles", {})) == \
                trainer.scaling_config.max_workers + 1:
            trainer._placement_group = pg  # the workers go into this trial's bundles
        trainer.fit()

    train_trial._tune_resources = resources  # type: ignore[attr-defined]
    return wrap_function(train_trial, name=type(base).__name__)
