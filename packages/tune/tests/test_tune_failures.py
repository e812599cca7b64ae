"""Trial failures: a trial whose process dies is retried from its last checkpoint."""

from __future__ import annotations

import json
import os
import signal

import pytest

from ember import tune

pytestmark = pytest.mark.usefixtures("cluster")


def crash_once(config):
    """Counts to 5 with a checkpoint per step; SIGKILLs its own process once, at step 3."""
    start = 0
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with open(os.path.join(ckpt.path, "state.json")) as f:
            start = json.load(f)["step"]
    for step in range(start + 1, 6):
        if step == 3 and not os.path.exists(config["marker"]):
            open(config["marker"], "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        d = os.path.join(tune.get_context().get_trial_dir(), "scratch")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "state.json"), "w") as f:
            json.dump({"step": step}, f)
        tune.report({"step": step, "resumed_at": start, "pid": os.getpid()},
                    checkpoint=tune.Checkpoint.from_directory(d))


def test_killed_trial_is_retried_from_its_checkpoint(tmp_path):
    results = tune.Tuner(
        crash_once, param_space={"marker": str(tmp_path / "died")},
        run_config=tune.RunConfig(verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=1))).fit()
    assert not results.errors
    final = results[0].metrics
    assert final["step"] == 5 and final["training_iteration"] == 5
    assert final["resumed_at"] == 2  # restarted from the step-2 checkpoint, not from zero
    with open(os.path.join(results[0].path, "error.txt")) as f:
        assert "Failure # 1" in f.read()


def test_killed_trial_without_retries_is_an_error(tmp_path):
    results = tune.Tuner(crash_once, param_space={"marker": str(tmp_path / "died")},
                         run_config=tune.RunConfig(verbose=0)).fit()
    assert results.num_errors == 1
    assert "died" in str(results.errors[0]).lower() or "crash" in str(results.errors[0]).lower()
    assert results[0].metrics["step"] == 2


def test_raising_trainable_is_retried_then_reported(tmp_path):
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def always_fails(config):
        (attempts / str(len(os.listdir(attempts)))).touch()
        raise RuntimeError("boom")

    results = tune.Tuner(always_fails, run_config=tune.RunConfig(
        verbose=0, failure_config=tune.FailureConfig(max_failures=2))).fit()
    assert len(os.listdir(attempts)) == 3
    assert results.num_errors == 1 and isinstance(results.errors[0], RuntimeError)
    assert "boom" in str(results.errors[0])


def test_class_trainable_setup_error_is_reported():
    class Broken(tune.Trainable):
        def setup(self, config):
            raise KeyError("no data")

        def step(self):
            return {}

    results = tune.Tuner(Broken, run_config=tune.RunConfig(verbose=0)).fit()
    assert isinstance(results.errors[0], KeyError) and "no data" in str(results.errors[0])
