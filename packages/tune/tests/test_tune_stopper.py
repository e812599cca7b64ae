"""Stoppers: per-trial and whole-experiment stop decisions."""

from __future__ import annotations

import pytest

from ember.tune import stopper as stopper_mod
from ember.tune.stopper import (
    CombinedStopper,
    ExperimentPlateauStopper,
    FunctionStopper,
    MaximumIterationStopper,
    Stopper,
    TimeoutStopper,
    TrialPlateauStopper,
    make_stopper,
)


def test_maximum_iteration_stopper_counts_per_trial():
    s = MaximumIterationStopper(2)
    assert not s("a", {}) and not s("b", {})
    assert s("a", {}) and s("b", {})
    assert not s.stop_all()


def test_trial_plateau_stopper():
    s = TrialPlateauStopper("loss", std=0.01, num_results=3, grace_period=3)
    values = [5.0, 3.0, 1.0, 1.0, 1.0]
    decisions = [s("t", {"loss": v}) for v in values]
    assert decisions == [False, False, False, False, True]
    assert not s("other", {"accuracy": 1})  # missing metric: keep going
    t = TrialPlateauStopper("loss", std=0.01, num_results=2, grace_period=2,
                            metric_threshold=0.5, mode="min")
    assert [t("x", {"loss": 1.0}) for _ in range(4)] == [False] * 4  # plateau above threshold
    with pytest.raises(ValueError, match="mode"):
        TrialPlateauStopper("loss", metric_threshold=1.0)


def test_experiment_plateau_stopper():
    s = ExperimentPlateauStopper("acc", std=0.001, top=3, mode="max", patience=1)
    for v in (0.9, 0.9, 0.9):
        s("t", {"acc": v})
    assert not s.stop_all()  # patience 1: one more plateaued result needed
    s("t", {"acc": 0.5})
    assert s.stop_all()


def test_timeout_stopper(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(stopper_mod.time, "monotonic", lambda: now[0])
    s = TimeoutStopper(5)
    assert not s.stop_all()  # the clock starts at the first check
    now[0] = 104.9
    assert not s.stop_all()
    now[0] = 105.0
    assert s.stop_all() and not s("t", {})
    with pytest.raises(ValueError):
        TimeoutStopper(0)


def test_combined_and_function_stoppers():
    class StopAll(Stopper):
        def __call__(self, trial_id, result):
            return False

        def stop_all(self):
            return True

    c = CombinedStopper(MaximumIterationStopper(1), FunctionStopper(lambda t, r: r["x"] > 1))
    assert c("t", {"x": 0}) and not c.stop_all()
    assert CombinedStopper(StopAll()).stop_all()


def test_make_stopper_accepts_dicts_functions_and_stoppers():
    d = make_stopper({"training_iteration": 3, "acc": 0.9})
    assert not d("t", {"training_iteration": 2, "acc": 0.5})
    assert d("t", {"training_iteration": 3}) and d("t", {"acc": 0.95})
    assert make_stopper(None) is None
    s = MaximumIterationStopper(1)
    assert make_stopper(s) is s
    assert make_stopper(lambda t, r: True)("t", {})
    with pytest.raises(ValueError, match="stop criteria"):
        make_stopper(42)


def test_timeout_stopper_budget_survives_a_checkpoint(monkeypatch):
    import pickle
    import types

    from ember.tune import stopper as stopper_module
    from ember.tune.stopper import TimeoutStopper

    clock = [1000.0]
    monkeypatch.setattr(stopper_module, "time", types.SimpleNamespace(
        monotonic=lambda: clock[0]))
    stopper = TimeoutStopper(timeout=60)
    assert not stopper.stop_all()
    clock[0] += 40
    checkpoint = pickle.dumps(stopper)
    clock[0] += 200  # time between checkpoint and restore does not count
    stopper = pickle.loads(checkpoint)
    assert not stopper.stop_all()
    clock[0] += 10
    assert not stopper.stop_all()
    clock[0] += 12
    assert stopper.stop_all()
    assert pickle.loads(pickle.dumps(stopper)).stop_all()
