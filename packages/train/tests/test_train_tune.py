"""A trainer tuned by ember.tune: Tuner(trainer, param_space={"train_loop_config": ...})."""

from __future__ import annotations

import os
import tempfile

import pytest

import ember
from ember import train
from ember.train import Checkpoint, DataParallelTrainer, RunConfig, ScalingConfig

tune = pytest.importorskip("ember.tune")

pytestmark = pytest.mark.usefixtures("cluster")


def descend(config):
    """Loss falls by `lr` per step, from the latest checkpoint's step on."""
    ctx = train.get_context()
    for step in range(1, config["steps"] + 1):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "step"), "w") as f:
            f.write(str(step))
        train.report({"loss": 10 - config["lr"] * step, "step": step,
                      "world_size": ctx.get_world_size()},
                     checkpoint=Checkpoint.from_directory(d))


def test_tuner_runs_trials_of_a_trainer_and_stops_them(tmp_path):
    trainer = DataParallelTrainer(descend, train_loop_config={"steps": 50, "lr": 0.0},
                                  scaling_config=ScalingConfig(num_workers=1))
    results = tune.Tuner(
        trainer, param_space={"train_loop_config": {"lr": tune.grid_search([1.0, 2.0])}},
        tune_config=tune.TuneConfig(metric="loss", mode="min"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0,
                                  stop={"training_iteration": 3})).fit()
    assert not results.errors
    best = results.get_best_result()
    assert best.config["train_loop_config"] == {"lr": 2.0}
    # Stopped by Tune after 3 reports, long before the loop's 50 steps.
    assert [r.metrics["step"] for r in results] == [3, 3]
    assert best.metrics["loss"] == 4.0 and best.metrics["world_size"] == 1
    with open(os.path.join(best.checkpoint.path, "step")) as f:
        assert f.read() == "3"
    # The stopped trials' workers and bundles are gone.
    assert ember.available_resources().get("CPU") == 2.0


def test_param_space_keys_must_be_trainer_arguments(tmp_path):
    trainer = DataParallelTrainer(descend, train_loop_config={"steps": 1, "lr": 1.0},
                                  run_config=RunConfig(storage_path=str(tmp_path)))
    results = tune.Tuner(trainer, param_space={"lr": 0.1},
                         run_config=tune.RunConfig(storage_path=str(tmp_path),
                                                   verbose=0)).fit()
    assert results.num_errors == 1
    assert "not a trainer argument" in str(results.errors[0])
