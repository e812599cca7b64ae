"""Ray Tune's function API and result objects: tune.run, ExperimentAnalysis,
ResultGrid(analysis), one-trial best results, Result's repr and checkpoints from Train."""

from __future__ import annotations

import os
import pickle

import pytest

from ember import tune
from ember.tune import Checkpoint, Result, ResultGrid

pytestmark = pytest.mark.usefixtures("cluster")


def test_tune_run_returns_analysis_a_result_grid_reads():
    def f(config):
        for v in (1, 4, 3):
            tune.report({"metric": config["p"] * v})

    analysis = tune.run(f, config={"p": tune.grid_search([1, 2])}, metric="metric",
                        mode="max", verbose=0)
    assert isinstance(analysis, tune.ExperimentAnalysis) and len(analysis.trials) == 2
    assert analysis.best_config == {"p": 2}
    grid = ResultGrid(analysis)
    assert sorted(grid.get_dataframe()["metric"]) == [3, 6]
    assert sorted(grid.get_dataframe(filter_metric="metric", filter_mode="min")["metric"]) \
        == [1, 2]
    assert grid.get_best_result().config == {"p": 2}


def test_one_trial_is_the_best_whatever_the_metric_and_no_report_has_no_best():
    def quiet(config):
        tune.report({"x": 1})

    grid = tune.Tuner(quiet, run_config=tune.RunConfig(verbose=0)).fit()
    assert grid.get_best_result().metrics["x"] == 1
    assert grid.get_best_result(metric="absent", mode="min").metrics["x"] == 1
    silent = ResultGrid(tune.run(lambda config: None, config={"x": tune.grid_search([1, 2])},
                                 verbose=0))
    assert silent[0].checkpoint is None
    with pytest.raises(RuntimeError, match="No best trial found"):
        silent.get_best_result(metric="x", mode="max")


def test_report_accepts_a_train_checkpoint(tmp_path):
    from ember.train import Checkpoint as TrainCheckpoint

    def f(config):
        d = os.path.join(str(tmp_path), f"ck{config['i']}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "data.pkl"), "wb") as fh:
            pickle.dump({"i": config["i"]}, fh)
        tune.report({"i": config["i"]}, checkpoint=TrainCheckpoint.from_directory(d))

    grid = tune.Tuner(f, param_space={"i": tune.grid_search([7])},
                      run_config=tune.RunConfig(verbose=0)).fit()
    with grid[0].checkpoint.as_directory() as d, open(os.path.join(d, "data.pkl"), "rb") as fh:
        assert pickle.load(fh) == {"i": 7}


def test_result_and_grid_repr_as_ray():
    grid = ResultGrid(experiment_analysis=type("A", (), {"trials": []})())
    grid._results = [
        Result(metrics={"loss": 1.0, "pid": 3}, checkpoint=Checkpoint("/tmp/ck1"),
               path="log_1", error=None, metrics_dataframe=None),
        Result(metrics={"loss": 2.0}, checkpoint=None, path="log_2", error=RuntimeError()),
    ]
    assert repr(grid) == """ResultGrid<[
  Result(
    metrics={'loss': 1.0},
    path='log_1',
    filesystem='local',
    checkpoint=Checkpoint(filesystem=local, path=/tmp/ck1)
  ),
  Result(
    error='RuntimeError',
    metrics={'loss': 2.0},
    path='log_2',
    filesystem='local',
    checkpoint=None
  )
]>"""


def test_callback_setting_should_checkpoint_saves_a_class_trainable():
    from ember.tune.result import SHOULD_CHECKPOINT, TRAINING_ITERATION

    class Counter(tune.Trainable):
        def setup(self, config):
            self.n = 0

        def step(self):
            self.n += 1
            return {"n": self.n}

        def save_checkpoint(self, checkpoint_dir):
            with open(os.path.join(checkpoint_dir, "n"), "w") as fh:
                fh.write(str(self.n))

        def load_checkpoint(self, checkpoint_dir):
            pass

    class EveryOther(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if result[TRAINING_ITERATION] % 2 == 0:
                result[SHOULD_CHECKPOINT] = True

    grid = tune.Tuner(Counter, run_config=tune.RunConfig(
        verbose=0, stop={TRAINING_ITERATION: 4}, callbacks=[EveryOther()])).fit()
    assert len(grid[0].best_checkpoints) == 2
    with grid[0].checkpoint.as_directory() as d, open(os.path.join(d, "n")) as fh:
        assert fh.read() == "4"
