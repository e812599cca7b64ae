"""Tune runs algorithms by name and by class, and stops trials on reported metrics."""

from __future__ import annotations

from ember import tune
from ember.rllib.algorithms.ppo import PPO


def test_tuner_by_name_grid_searches_and_stops_on_metric(cluster, tmp_path, cartpole_config):
    config = cartpole_config().training(lr=tune.grid_search([1e-3, 3e-3]))
    tuner = tune.Tuner(
        "PPO", param_space=config.to_dict(),
        tune_config=tune.TuneConfig(metric="env_runners/episode_return_mean", mode="max"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="ppo", stop={
            "env_runners/episode_return_mean": 60, "training_iteration": 100}))
    results = tuner.fit()
    assert not results.errors
    assert len(results) == 2
    for result in results:
        assert result.metrics["env_runners"]["episode_return_mean"] >= 60
        assert result.metrics["training_iteration"] < 100
    best = results.get_best_result()
    assert best.config["lr"] in (1e-3, 3e-3)


def test_tuner_with_the_algorithm_class_and_checkpoints(cluster, tmp_path, cartpole_config):
    tuner = tune.Tuner(
        PPO, param_space=cartpole_config().to_dict(),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="ppo_cls", stop={"training_iteration": 3},
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=True)))
    result = tuner.fit()[0]
    assert result.error is None
    assert result.metrics["training_iteration"] == 3
    assert result.metrics["num_env_steps_sampled_lifetime"] == 3 * 256
    restored = PPO.from_checkpoint(result.checkpoint.path)
    try:
        assert restored.iteration == 3
    finally:
        restored.stop()
