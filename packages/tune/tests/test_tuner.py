"""Tuner end to end: function and class trainables, ResultGrid, resources, parameters,
stop criteria, files on disk and clear errors."""

from __future__ import annotations

import csv
import json
import os
import pickle
import time

import numpy as np
import pytest

from ember import tune
from ember.tune.stopper import CombinedStopper, MaximumIterationStopper

pytestmark = pytest.mark.usefixtures("cluster")


def quiet(**kw):
    return tune.RunConfig(verbose=0, **kw)


def steps(config):
    for i in range(1, config.get("n", 3) + 1):
        tune.report({"loss": config["x"] / i, "step": i})


def test_fit_returns_a_result_grid():
    results = tune.Tuner(
        steps, param_space={"x": tune.grid_search([1.0, 2.0, 3.0])},
        tune_config=tune.TuneConfig(metric="loss", mode="min"), run_config=quiet()).fit()
    assert len(results) == 3 and results.num_errors == 0 and results.num_terminated == 3
    assert [r.config["x"] for r in results] == [1.0, 2.0, 3.0]
    assert results[0].metrics["training_iteration"] == 3 and results[0].metrics["done"]
    best = results.get_best_result()
    assert best.config == {"x": 1.0} and best.metrics["loss"] == pytest.approx(1 / 3)
    assert results.get_best_result("loss", "max").config == {"x": 3.0}
    assert results.get_best_result("loss", "min", scope="all").config == {"x": 1.0}
    assert results.get_best_result("loss", "max", scope="avg").config == {"x": 3.0}
    df = results.get_dataframe()
    assert list(df["config/x"]) == [1.0, 2.0, 3.0] and "logdir" in df and "trial_id" in df
    best_rows = results.get_dataframe(filter_metric="loss", filter_mode="max")
    assert list(best_rows["step"]) == [1, 1, 1]
    history = results[1].metrics_dataframe
    assert list(history["loss"]) == pytest.approx([2.0, 1.0, 2 / 3])
    assert os.path.isdir(results.experiment_path)


def test_get_best_result_needs_metric_and_mode():
    results = tune.Tuner(steps, param_space={"x": tune.grid_search([1.0, 2.0])},
                         run_config=quiet()).fit()
    with pytest.raises(ValueError, match="No metric is provided"):
        results.get_best_result()
    with pytest.raises(ValueError, match="No mode is provided"):
        results.get_best_result(metric="loss")
    with pytest.raises(RuntimeError, match="No best trial found"):
        results.get_best_result(metric="missing", mode="min")


def test_trial_files_are_written():
    results = tune.Tuner(steps, param_space={"x": 2.0, "n": 2}, run_config=quiet()).fit()
    path = results[0].path
    with open(os.path.join(path, "params.json")) as f:
        assert json.load(f) == {"x": 2.0, "n": 2}
    with open(os.path.join(path, "params.pkl"), "rb") as f:
        assert pickle.load(f) == {"x": 2.0, "n": 2}
    with open(os.path.join(path, "result.json")) as f:
        rows = [json.loads(line) for line in f]
    assert [r["step"] for r in rows] == [1, 2] and rows[0]["config"] == {"x": 2.0, "n": 2}
    with open(os.path.join(path, "progress.csv")) as f:
        table = list(csv.DictReader(f))
    assert [float(r["loss"]) for r in table] == [2.0, 1.0]
    assert tune.Tuner.can_restore(results.experiment_path)


class Counter(tune.Trainable):
    def setup(self, config):
        self.total = config.get("start", 0)
        self.inc = config["inc"]

    def step(self):
        self.total += self.inc
        return {"total": self.total, "done": self.total >= 10}

    def save_checkpoint(self, checkpoint_dir):
        return {"total": self.total}

    def load_checkpoint(self, checkpoint):
        self.total = checkpoint["total"]


def test_class_trainable_with_checkpoint_frequency_and_retention():
    results = tune.Tuner(
        Counter, param_space={"inc": tune.grid_search([1, 5])},
        run_config=quiet(checkpoint_config=tune.CheckpointConfig(
            checkpoint_frequency=2, num_to_keep=2, checkpoint_score_attribute="total",
            checkpoint_at_end=True))).fit()
    slow, fast = results
    assert slow.metrics["total"] == 10 and slow.metrics["training_iteration"] == 10
    assert fast.metrics["training_iteration"] == 2
    kept = sorted(d for d in os.listdir(slow.path) if d.startswith("checkpoint_"))
    assert len(kept) == 2 and len(slow.best_checkpoints) == 2
    with open(os.path.join(slow.checkpoint.path, "_dict_checkpoint.pkl"), "rb") as f:
        assert pickle.load(f) == {"total": 10}
    restored = Counter({"inc": 1})
    restored.restore(slow.checkpoint.path)
    assert restored.total == 10


def test_function_checkpoints_and_get_checkpoint(tmp_path):
    def train(config):
        assert tune.get_checkpoint() is None
        for i in range(3):
            d = tmp_path / f"ckpt-{tune.get_context().get_trial_id()}-{i}"
            d.mkdir()
            (d / "weights.txt").write_text(str(i))
            tune.report({"i": i}, checkpoint=tune.Checkpoint.from_directory(d))

    results = tune.Tuner(train, run_config=quiet(
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1))).fit()
    ckpt = results[0].checkpoint
    assert ckpt.path.startswith(results[0].path)
    with ckpt.as_directory() as d:
        assert open(os.path.join(d, "weights.txt")).read() == "2"
    copy = ckpt.to_directory(str(tmp_path / "copy"))
    assert open(os.path.join(copy, "weights.txt")).read() == "2"
    assert len([d for d in os.listdir(results[0].path) if d.startswith("checkpoint_")]) == 1


def test_with_parameters_puts_large_objects_once():
    data = np.arange(1_000_000, dtype=np.float64)

    def train(config, data=None):
        tune.report({"sum": float(data.sum()) * config["scale"]})

    results = tune.Tuner(tune.with_parameters(train, data=data),
                         param_space={"scale": tune.grid_search([1, 2])},
                         run_config=quiet()).fit()
    assert [r.metrics["sum"] for r in results] == [data.sum(), 2 * data.sum()]

    class WithData(tune.Trainable):
        def setup(self, config, data=None):
            self.n = len(data)

        def step(self):
            return {"n": self.n, "done": True}

    results = tune.Tuner(tune.with_parameters(WithData, data=data), run_config=quiet()).fit()
    assert results[0].metrics["n"] == 1_000_000


def test_with_resources_reserves_cpus():
    def train(config):
        start = time.time()
        tune.report({"cpus": tune.get_context().get_trial_resources().required_resources["CPU"],
                     "start": start, "end": time.time()})

    results = tune.Tuner(tune.with_resources(train, {"cpu": 2}),
                         tune_config=tune.TuneConfig(num_samples=3), run_config=quiet()).fit()
    assert [r.metrics["cpus"] for r in results] == [2.0, 2.0, 2.0]
    spans = sorted((r.metrics["start"], r.metrics["end"]) for r in results)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # 2 CPUs: one at a time
    results = tune.Tuner(tune.with_resources(train, {"cpu": 3}), run_config=quiet()).fit()
    assert results.num_errors == 1 and "can never start" in str(results.errors[0])
    bundles = tune.PlacementGroupFactory([{"CPU": 1}, {"CPU": 1}])
    results = tune.Tuner(tune.with_resources(train, lambda config: bundles),
                         tune_config=tune.TuneConfig(num_samples=2), run_config=quiet()).fit()
    assert [r.metrics["cpus"] for r in results] == [2.0, 2.0] and not results.errors


def test_actors_are_reused_across_trials():
    def train(config):
        tune.report({"pid": os.getpid()})

    results = tune.Tuner(train, tune_config=tune.TuneConfig(num_samples=10),
                         run_config=quiet()).fit()
    assert len({r.metrics["pid"] for r in results}) <= 2
    results = tune.Tuner(train, tune_config=tune.TuneConfig(num_samples=3, reuse_actors=False),
                         run_config=quiet()).fit()
    assert len({r.metrics["pid"] for r in results}) == 3


def test_stop_criteria():
    def forever(config):
        i = 0
        while True:
            i += 1
            tune.report({"i": i})

    r = tune.Tuner(forever, run_config=quiet(stop={"i": 4})).fit()
    assert r[0].metrics["i"] == 4
    r = tune.Tuner(forever, run_config=quiet(stop=lambda tid, res: res["i"] >= 3)).fit()
    assert r[0].metrics["i"] == 3
    r = tune.Tuner(forever, run_config=quiet(stop=CombinedStopper(
        MaximumIterationStopper(5), MaximumIterationStopper(7)))).fit()
    assert r[0].metrics["training_iteration"] == 5
    r = tune.Tuner(forever, tune_config=tune.TuneConfig(time_budget_s=0.5, num_samples=2),
                   run_config=quiet()).fit()
    assert all(res.metrics["i"] >= 1 for res in r) and r.num_terminated == 2


def test_max_concurrent_trials_and_trial_names():
    def train(config):
        tune.report({"pid": os.getpid()})

    results = tune.Tuner(train, tune_config=tune.TuneConfig(
        num_samples=4, max_concurrent_trials=1,
        trial_name_creator=lambda t: f"custom_{t.trial_id}",
        trial_dirname_creator=lambda t: f"dir_{t.trial_id}"), run_config=quiet()).fit()
    assert len({r.metrics["pid"] for r in results}) == 1
    assert all(os.path.basename(r.path).startswith("dir_") for r in results)


def test_errors_are_reported_and_the_experiment_goes_on():
    def flaky(config):
        if config["x"] == 2:
            raise ValueError("bad x")
        tune.report({"x": config["x"]})

    results = tune.Tuner(flaky, param_space={"x": tune.grid_search([1, 2, 3])},
                         run_config=quiet()).fit()
    assert results.num_errors == 1 and len(results.errors) == 1
    err = results.errors[0]
    assert isinstance(err, ValueError) and "bad x" in str(err) and "Traceback" in str(err)
    assert [r.metrics.get("x") for r in results if r.error is None] == [1, 3]
    with open(os.path.join(results[1].path, "error.txt")) as f:
        assert "bad x" in f.read()
    with pytest.raises(ValueError, match="bad x"):
        tune.Tuner(flaky, param_space={"x": 2}, run_config=quiet(
            failure_config=tune.FailureConfig(fail_fast="raise"))).fit()


def test_missing_metric_is_a_clear_trial_error():
    from ember.tune.schedulers import ASHAScheduler

    results = tune.Tuner(steps, param_space={"x": 1.0}, tune_config=tune.TuneConfig(
        metric="accuracy", mode="max", scheduler=ASHAScheduler()), run_config=quiet()).fit()
    assert "did not include the specified metric 'accuracy'" in str(results.errors[0])


def test_register_trainable_and_bad_trainables():
    tune.register_trainable("my_steps", steps)
    results = tune.Tuner("my_steps", param_space={"x": 1.0, "n": 1}, run_config=quiet()).fit()
    assert results[0].metrics["loss"] == 1.0
    with pytest.raises(ValueError, match="Unknown trainable"):
        tune.Tuner("nope").fit()
    with pytest.raises(TypeError, match="Trainable"):
        tune.Tuner(int).fit()
    with pytest.raises(ValueError, match="mode"):
        tune.TuneConfig(mode="maximize")
    with pytest.raises(RuntimeError, match="outside of a Tune trial"):
        tune.report({"x": 1})


def test_log_to_file_captures_trial_output():
    def chatty(config):
        print("hello from the trial")
        import sys

        print("a warning", file=sys.stderr)
        tune.report({"x": 1})

    results = tune.Tuner(chatty, run_config=quiet(log_to_file=True)).fit()
    with open(os.path.join(results[0].path, "stdout")) as f:
        assert "hello from the trial" in f.read()
    with open(os.path.join(results[0].path, "stderr")) as f:
        assert "a warning" in f.read()
    results = tune.Tuner(chatty, run_config=quiet(log_to_file="both.log")).fit()
    with open(os.path.join(results[0].path, "both.log")) as f:
        text = f.read()
    assert "hello from the trial" in text and "a warning" in text


def test_checkpoint_frequency_is_for_class_trainables():
    with pytest.raises(ValueError, match="class Trainables only"):
        tune.Tuner(steps, run_config=quiet(
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=1))).fit()
