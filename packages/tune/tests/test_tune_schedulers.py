"""Trial schedulers: ASHA and HyperBand stop poor trials early, the median rule stops
laggards, PBT copies a better trial's checkpoint and config."""

from __future__ import annotations

import json
import os

import pytest

from ember import tune
from ember.tune.experiment.trial import Trial
from ember.tune.schedulers import (
    ASHAScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)

pytestmark = pytest.mark.usefixtures("cluster")

QUALITIES = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4]  # not sorted: later trials can lose


def climb(config):
    """Score grows with the iteration, faster for a better quality q; checkpoints each step."""
    start = 0
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with open(os.path.join(ckpt.path, "step.json")) as f:
            start = json.load(f)["step"]
    for step in range(start + 1, 10):
        d = os.path.join(tune.get_context().get_trial_dir(), "scratch")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "step.json"), "w") as f:
            json.dump({"step": step}, f)
        tune.report({"score": config["q"] * step},
                    checkpoint=tune.Checkpoint.from_directory(d))


def run(scheduler, **kw):
    return tune.Tuner(climb, param_space={"q": tune.grid_search(QUALITIES)},
                      tune_config=tune.TuneConfig(metric="score", mode="max",
                                                  scheduler=scheduler, **kw),
                      run_config=tune.RunConfig(verbose=0)).fit()


def total_iterations(results):
    return sum(r.metrics["training_iteration"] for r in results)


def test_asha_stops_poor_trials_early():
    fifo = run(FIFOScheduler())
    asha = run(ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3))
    assert total_iterations(fifo) == 9 * 9
    assert total_iterations(asha) < total_iterations(fifo) * 0.7
    best = asha.get_best_result()
    assert best.config["q"] == 0.9 and best.metrics["training_iteration"] == 9
    assert not asha.errors


def test_asha_bracket_logic_without_a_cluster():
    s = ASHAScheduler(metric="loss", mode="min", max_t=8, grace_period=1, reduction_factor=2)
    s.set_search_properties(None, None)
    trials = [Trial("t", config={}, trial_id=str(i)) for i in range(3)]
    for t in trials:
        s.on_trial_add(None, t)
    r = {"training_iteration": 1}
    assert s.on_trial_result(None, trials[0], {**r, "loss": 1.0}) == TrialScheduler.CONTINUE
    assert s.on_trial_result(None, trials[1], {**r, "loss": 5.0}) == TrialScheduler.STOP
    assert s.on_trial_result(None, trials[2], {**r, "loss": 0.5}) == TrialScheduler.CONTINUE
    assert s.on_trial_result(None, trials[2], {"training_iteration": 8, "loss": 0.1}) == \
        TrialScheduler.STOP  # reached max_t


def test_hyperband_pauses_and_halves():
    results = run(HyperBandScheduler(max_t=9, reduction_factor=3))
    iters = sorted(r.metrics["training_iteration"] for r in results)
    assert total_iterations(results) < 9 * 9
    assert iters[-1] == 9 and iters[0] < 9
    assert results.get_best_result().config["q"] == 0.9
    assert not results.errors


def test_median_stopping_rule_unit():
    rule = MedianStoppingRule(time_attr="training_iteration", metric="acc", mode="max",
                              grace_period=1, min_samples_required=2)
    rule.set_search_properties(None, None)
    trials = [Trial("t", config={}, trial_id=str(i)) for i in range(3)]
    for step in (1, 2):
        for t, acc in zip(trials[:2], (0.8, 0.9), strict=True):
            assert rule.on_trial_result(None, t, {"training_iteration": step, "acc": acc}) == \
                TrialScheduler.CONTINUE
    assert rule.on_trial_result(None, trials[2], {"training_iteration": 1, "acc": 0.1}) == \
        TrialScheduler.STOP
    good = Trial("t", config={}, trial_id="3")
    assert rule.on_trial_result(None, good, {"training_iteration": 1, "acc": 0.95}) == \
        TrialScheduler.CONTINUE


def test_median_stopping_rule_in_a_run():
    results = run(MedianStoppingRule(time_attr="training_iteration", grace_period=2,
                                     min_samples_required=2))
    assert total_iterations(results) < 9 * 9
    assert results.get_best_result().metrics["training_iteration"] == 9


def test_schedulers_need_a_metric():
    with pytest.raises(ValueError, match="metric"):
        tune.Tuner(climb, tune_config=tune.TuneConfig(scheduler=ASHAScheduler())).fit()
    with pytest.raises(ValueError, match="conflict"):
        tune.Tuner(climb, tune_config=tune.TuneConfig(
            metric="score", mode="max", scheduler=ASHAScheduler(metric="other", mode="max"))
        ).fit()


def grow(config):
    """value += lr each step; the checkpoint records value and whose checkpoints it came
    through (a trial restored from another trial's checkpoint adopts that lineage)."""
    me = tune.get_context().get_trial_id()
    value, lineage = 0.0, []
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with open(os.path.join(ckpt.path, "state.json")) as f:
            state = json.load(f)
        value, lineage = state["value"], state["lineage"]
        if state["owner"] != me:
            lineage = [*lineage, state["owner"]]
    for _ in range(20):
        value += config["lr"]
        d = os.path.join(tune.get_context().get_trial_dir(), "scratch")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "state.json"), "w") as f:
            json.dump({"value": value, "owner": me, "lineage": lineage}, f)
        tune.report({"value": value, "adopted_from": ",".join(lineage)},
                    checkpoint=tune.Checkpoint.from_directory(d))


def run_pbt(synch):
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2,
                                  hyperparam_mutations={"lr": [0.001, 0.01, 0.1, 1.0]},
                                  quantile_fraction=0.25, resample_probability=0.0,
                                  synch=synch, seed=0)
    return tune.Tuner(
        grow, param_space={"lr": tune.grid_search([0.001, 0.01, 0.1, 1.0])},
        tune_config=tune.TuneConfig(metric="value", mode="max", scheduler=pbt),
        run_config=tune.RunConfig(stop={"training_iteration": 8}, verbose=0)).fit()


def test_pbt_exploits_a_better_trials_checkpoint_and_config():
    # synch=True ranks the whole population at each interval: the run is deterministic.
    results = run_pbt(synch=True)
    assert not results.errors
    with open(os.path.join(results.experiment_path, "pbt_global.txt")) as f:
        entries = [json.loads(line) for line in f]
    worst = next(r for r in results if r.metrics["experiment_tag"].startswith("0_"))
    best = next(r for r in results if r.metrics["experiment_tag"].startswith("3_"))
    # At the first interval the worst trial (lr=0.001) copied the best one (lr=1.0).
    first = entries[0]
    assert first["target"] == worst.metrics["trial_id"]
    assert first["clone"] == best.metrics["trial_id"]
    assert worst.metrics["adopted_from"].split(",")[0] == best.metrics["trial_id"]
    assert worst.metrics["value"] > 1.0 > 0.001 * 8  # far beyond what lr=0.001 reaches
    assert worst.config["lr"] in (0.1, 1.0)  # the clone's lr, shifted to a neighbour
    assert "@perturbed" in worst.metrics["experiment_tag"]
    copied = [d for d in os.listdir(worst.path) if d.startswith("checkpoint_")]
    assert copied
    assert all(r.metrics["training_iteration"] == 8 for r in results)


def test_pbt_asynchronous_mode_runs_the_population():
    results = run_pbt(synch=False)
    assert not results.errors and len(results) == 4
    assert all(r.metrics["training_iteration"] == 8 for r in results)


def test_pbt_explore_perturbs_and_resamples():
    import random

    from ember.tune.schedulers.pbt import _explore

    rng = random.Random(0)
    mutations = {"lr": tune.uniform(0, 1), "bs": [16, 32, 64], "opt": {"m": [0.8, 0.9]}}
    config = {"lr": 0.5, "bs": 32, "opt": {"m": 0.9}, "other": 1}
    seen_lr, seen_bs = set(), set()
    for _ in range(50):
        new = _explore(config, mutations, 0.0, [1.2, 0.8], rng)
        seen_lr.add(round(new["lr"], 6))
        seen_bs.add(new["bs"])
        assert new["other"] == 1 and new["opt"]["m"] in (0.8, 0.9)
    assert seen_lr == {0.6, 0.4} and seen_bs == {16, 64}
    resampled = {_explore(config, mutations, 1.0, [1.2, 0.8], rng)["lr"] for _ in range(5)}
    assert len(resampled) == 5


def test_pbt_validates_arguments():
    with pytest.raises(TypeError, match="hyperparam_mutations"):
        PopulationBasedTraining()
    with pytest.raises(ValueError, match="quantile_fraction"):
        PopulationBasedTraining(hyperparam_mutations={"lr": [1]}, quantile_fraction=0.9)
