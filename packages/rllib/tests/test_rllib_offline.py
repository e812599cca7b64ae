"""Offline RL: recording episodes to Parquet, reading them with ember.data, BC and MARWIL."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

import ember.data
from ember.rllib.algorithms.bc import BCConfig
from ember.rllib.algorithms.marwil import MARWILConfig
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig


@pytest.fixture(scope="module")
def recorded(trained_cartpole_ppo, tmp_path_factory, cartpole_config):
    """~10k steps of the trained PPO policy, recorded with offline_data(output=...)."""
    ckpt, _result, _ = trained_cartpole_ppo
    out = str(tmp_path_factory.mktemp("cartpole_episodes"))
    config = (cartpole_config()
              .training(lr=0.0, train_batch_size_per_learner=1024, minibatch_size=1024,
                        num_epochs=1)
              .offline_data(output=out))
    algo = config.build_algo()
    try:
        algo.restore_from_path(ckpt)
        for _ in range(10):
            algo.train()
    finally:
        algo.stop()
    return out


def _offline_config(cls, path: str):
    return (cls()
            .environment("CartPole-v1")
            .offline_data(input_=path)
            .training(lr=1e-3, train_batch_size_per_learner=512)
            .reporting(min_train_timesteps_per_iteration=512 * 20)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
            .evaluation(evaluation_interval=1, evaluation_duration=5)
            .debugging(seed=0))


def test_recording_writes_parquet_readable_by_ember_data(recorded, cluster):
    files = glob.glob(os.path.join(recorded, "*.parquet"))
    assert files
    ds = ember.data.read_parquet(recorded)
    assert ds.count() == 10 * 1024
    assert {"obs", "actions", "rewards", "new_obs", "terminateds", "truncateds", "eps_id",
            "t", "action_logp"} <= set(ds.columns())
    row = ds.take(1)[0]
    assert len(row["obs"]) == 4 and row["actions"] in (0, 1)
    rows = ds.take_all()
    # episodes of the trained policy are long: few episode ids in 10k steps
    eps = {r["eps_id"] for r in rows}
    assert len(eps) < 10 * 1024 / 100


@pytest.mark.timeout(600)
def test_bc_learns_cartpole_from_recorded_ppo_episodes(recorded, cluster):
    algo = _offline_config(BCConfig, recorded).build_algo()
    try:
        ret = 0.0
        for _ in range(30):  # seeded: a few iterations
            result = algo.train()
            ret = result["evaluation"]["env_runners"]["episode_return_mean"]
            if ret >= 300:
                break
        assert ret >= 300, f"BC greedy return {ret}"
        assert "policy_loss" in result["learners"]["default_policy"]
        assert result["num_env_steps_trained_lifetime"] >= 512 * 20
    finally:
        algo.stop()


def test_marwil_trains_policy_and_value(recorded, cluster):
    config = _offline_config(MARWILConfig, recorded).training(beta=1.0)
    algo = config.build_algo()
    try:
        first = algo.train()["learners"]["default_policy"]
        for _ in range(3):
            last = algo.train()["learners"]["default_policy"]
        assert {"policy_loss", "vf_loss", "mean_adv_weight"} <= set(last)
        assert last["vf_loss"] < first["vf_loss"]
        assert np.isfinite(last["total_loss"])
    finally:
        algo.stop()


def test_offline_algorithms_need_input():
    with pytest.raises(ValueError, match="offline_data"):
        BCConfig().environment("CartPole-v1").build_algo()
