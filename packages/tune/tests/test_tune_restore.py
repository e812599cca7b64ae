"""Tuner.restore: an interrupted experiment resumes its unfinished trials from their last
checkpoints and keeps the finished ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ember import tune

pytestmark = pytest.mark.usefixtures("cluster")

TRAINABLE = '''
import json, os
from ember import tune

def count(config):
    start = 0
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with open(os.path.join(ckpt.path, "state.json")) as f:
            start = json.load(f)["step"]
    for step in range(start + 1, config["steps"] + 1):
        d = os.path.join(tune.get_context().get_trial_dir(), "scratch")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "state.json"), "w") as f:
            json.dump({"step": step}, f)
        tune.report({"step": step, "resumed_at": start},
                    checkpoint=tune.Checkpoint.from_directory(d))
'''
namespace: dict = {}
exec(TRAINABLE, namespace)
count = namespace["count"]


class InterruptAt(tune.Callback):
    """Raises KeyboardInterrupt (like Ctrl-C) once a trial reaches `step`, one time only."""

    def __init__(self, step, marker):
        self.step, self.marker = step, marker

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if result["step"] == self.step and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise KeyboardInterrupt


def lines(path):
    with open(os.path.join(path, "result.json")) as f:
        return [json.loads(x) for x in f if x.strip()]


def test_interrupted_experiment_resumes(tmp_path):
    space = {"steps": tune.grid_search([2, 6, 6])}
    with pytest.warns(UserWarning, match="interrupted"):
        partial = tune.Tuner(count, param_space=space, run_config=tune.RunConfig(
            name="exp", storage_path=str(tmp_path), verbose=0,
            callbacks=[InterruptAt(4, str(tmp_path / "interrupted"))])).fit()
    path = partial.experiment_path
    assert tune.Tuner.can_restore(path) and not tune.Tuner.can_restore(str(tmp_path))
    unfinished = [r for r in partial if not r.metrics.get("done")]
    assert unfinished, "the interrupt came too late to test anything"
    done_before = {r.metrics["trial_id"]: len(lines(r.path)) for r in partial
                   if r.metrics.get("done")}

    results = tune.Tuner.restore(path, trainable=count).fit()
    assert len(results) == 3 and not results.errors
    assert sorted(r.metrics["step"] for r in results) == [2, 6, 6]
    resumed = [r for r in results if r.metrics["resumed_at"] > 0]
    assert resumed  # at least one trial continued from its checkpoint
    for r in results:
        rows = lines(r.path)
        assert [row["step"] for row in rows][-1] == r.metrics["step"]
        if r.metrics["trial_id"] in done_before:  # finished trials were not run again
            assert len(rows) == done_before[r.metrics["trial_id"]]


def test_restore_after_the_driver_is_killed(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(TRAINABLE + textwrap.dedent(f'''
        import signal
        import ember

        class KillDriver(tune.Callback):
            def on_trial_result(self, iteration, trials, trial, result, **info):
                # Restore brings the callbacks back: only the first driver dies.
                if result["step"] == 3 and os.environ.get("TUNE_TEST_KILL_DRIVER"):
                    os.kill(os.getpid(), signal.SIGKILL)

        ember.init(num_cpus=2)
        tune.Tuner(count, param_space={{"steps": tune.grid_search([5, 5])}},
                   run_config=tune.RunConfig(name="killed", storage_path={str(tmp_path)!r},
                                             verbose=0, callbacks=[KillDriver()])).fit()
    '''))
    env = dict(os.environ, EMBER_TUNE_GLOBAL_CHECKPOINT_S="0", TUNE_TEST_KILL_DRIVER="1")
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    path = str(tmp_path / "killed")
    assert tune.Tuner.can_restore(path)
    results = tune.Tuner.restore(path, trainable=count).fit()
    assert [r.metrics["step"] for r in results] == [5, 5] and not results.errors
    # The trial that reached step 3 resumes from its step-2 checkpoint (the state file is
    # rewritten every step here); the other from wherever it had got to.
    assert max(r.metrics["resumed_at"] for r in results) == 2


def test_restore_errored_trials_on_request(tmp_path):
    marker = tmp_path / "fixed"

    def fails_until_fixed(config):
        if not os.path.exists(config["marker"]):
            raise RuntimeError("not yet")
        tune.report({"ok": 1})

    first = tune.Tuner(fails_until_fixed, param_space={"marker": str(marker)},
                       run_config=tune.RunConfig(name="err", storage_path=str(tmp_path),
                                                 verbose=0)).fit()
    assert first.num_errors == 1
    again = tune.Tuner.restore(first.experiment_path, fails_until_fixed).fit()
    assert again.num_errors == 1  # errored trials stay errored by default
    marker.touch()
    fixed = tune.Tuner.restore(first.experiment_path, fails_until_fixed,
                               restart_errored=True).fit()
    assert fixed.num_errors == 0 and fixed[0].metrics["ok"] == 1


def test_restore_rejects_a_folder_without_an_experiment(tmp_path):
    with pytest.raises(ValueError, match="Cannot restore"):
        tune.Tuner.restore(str(tmp_path), trainable=count)
