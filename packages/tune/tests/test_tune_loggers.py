"""Loggers and callbacks: hooks fire in order; TensorBoard, MLflow and W&B when installed."""

from __future__ import annotations

import glob
import os

import pytest

from ember import tune
from ember.tune.logger import LoggerCallback

pytestmark = pytest.mark.usefixtures("cluster")


def train(config):
    for i in range(2):
        tune.report({"loss": config["x"] + i, "nested": {"a": i}})


class Recorder(LoggerCallback):
    def __init__(self):
        self.events = []

    def setup(self, *args, **info):
        self.events.append(("setup", info.get("experiment_name")))

    def log_trial_start(self, trial):
        self.events.append(("start", trial.trial_id))

    def log_trial_result(self, iteration, trial, result):
        self.events.append(("result", result["training_iteration"]))

    def log_trial_end(self, trial, failed=False):
        self.events.append(("end", failed))

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        self.events.append(("checkpoint", os.path.basename(checkpoint.path)))

    def on_experiment_end(self, trials, **info):
        self.events.append(("experiment_end", len(trials)))


def test_callback_hooks_in_order():
    rec = Recorder()
    results = tune.Tuner(train, param_space={"x": 1.0},
                         run_config=tune.RunConfig(name="hooks", verbose=0,
                                                   callbacks=[rec])).fit()
    kinds = [e[0] for e in rec.events]
    assert kinds == ["setup", "start", "result", "result", "end", "experiment_end"]
    assert rec.events[0] == ("setup", "hooks") and rec.events[-1] == ("experiment_end", 1)
    assert ("end", False) in rec.events
    assert os.path.exists(os.path.join(results[0].path, "result.json"))


def test_csv_flattens_nested_metrics():
    import csv

    results = tune.Tuner(train, param_space={"x": 1.0},
                         run_config=tune.RunConfig(verbose=0)).fit()
    with open(os.path.join(results[0].path, "progress.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["nested/a"] for r in rows] == ["0", "1"] and "config/x" not in rows[0]


def test_auto_loggers_can_be_disabled(monkeypatch):
    monkeypatch.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    results = tune.Tuner(train, param_space={"x": 1.0},
                         run_config=tune.RunConfig(verbose=0)).fit()
    assert not os.path.exists(os.path.join(results[0].path, "result.json"))


def test_tensorboard_event_files():
    pytest.importorskip("tensorboardX")
    from ember.tune.logger import TBXLoggerCallback

    results = tune.Tuner(train, param_space={"x": 1.0}, run_config=tune.RunConfig(
        verbose=0, callbacks=[TBXLoggerCallback()])).fit()
    assert glob.glob(os.path.join(results[0].path, "events.out.tfevents.*"))


def test_mlflow_logger(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from ember.tune.logger import MLflowLoggerCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tune.Tuner(train, param_space={"x": 1.0}, run_config=tune.RunConfig(
        name="mlflow_exp", verbose=0,
        callbacks=[MLflowLoggerCallback(tracking_uri=uri)])).fit()
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("mlflow_exp")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.params["x"] == "1.0" and run.data.metrics["loss"] == 2.0
    assert run.info.status == "FINISHED"


def test_wandb_logger(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from ember.tune.logger import WandbLoggerCallback

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    results = tune.Tuner(train, param_space={"x": 1.0}, run_config=tune.RunConfig(
        verbose=0, callbacks=[WandbLoggerCallback(project="tune-test")])).fit()
    assert not results.errors
    assert glob.glob(os.path.join(results[0].path, "wandb", "offline-run-*"))


def test_optional_loggers_fail_clearly_when_missing():
    import importlib.util

    from ember.tune.logger import MLflowLoggerCallback, WandbLoggerCallback

    for cls, module in ((MLflowLoggerCallback, "mlflow"), (WandbLoggerCallback, "wandb")):
        if importlib.util.find_spec(module) is None:
            with pytest.raises(ImportError, match=f"pip install {module}"):
                cls()
