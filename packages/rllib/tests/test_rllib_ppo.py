"""PPO end to end: learning CartPole, results, checkpoints, acting."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from ember.rllib.algorithms.algorithm import Algorithm
from ember.rllib.algorithms.ppo import PPO


@pytest.mark.timeout(600)
def test_ppo_reaches_450_on_cartpole(trained_cartpole_ppo):
    _path, result, evaluation = trained_cartpole_ppo
    ret = result["env_runners"]["episode_return_mean"]
    steps = result["num_env_steps_sampled_lifetime"]
    assert ret >= 450, f"mean return {ret} after {steps} env steps"
    assert steps <= 150_000
    learner = result["learners"]["default_policy"]
    assert {"total_loss", "policy_loss", "vf_loss", "entropy"} <= set(learner)
    # The greedy policy balances the pole too.
    assert evaluation["env_runners"]["episode_return_mean"] >= 400


def test_train_returns_rllib_result_keys(cartpole_config):
    algo = cartpole_config().build_algo()
    try:
        r1 = algo.train()
        r2 = algo.train()
        assert r1["training_iteration"] == 1 and r2["training_iteration"] == 2
        assert r2["num_env_steps_sampled_lifetime"] == 512
        assert r2["env_runners"]["num_env_steps_sampled"] == 256
        assert r2["env_runners"]["num_episodes"] > 0
        assert np.isfinite(r2["env_runners"]["episode_return_mean"])
        assert r2["learners"]["default_policy"]["num_module_steps_trained"] == 256 * 20
        assert "__all_modules__" in r2["learners"]
        assert r2["num_env_steps_trained_lifetime"] == 512
    finally:
        algo.stop()


def test_checkpoint_roundtrip(tmp_path, cartpole_config):
    algo = cartpole_config().build_algo()
    try:
        algo.train()
        path = algo.save_to_path(tmp_path / "ckpt")
        obs = np.array([0.01, -0.02, 0.03, 0.04], dtype=np.float32)
        action = algo.compute_single_action(obs)
        weights = {k: v.clone() for k, v in algo.get_module().state_dict().items()}
        steps = algo._counters["num_env_steps_sampled_lifetime"]
    finally:
        algo.stop()

    restored = Algorithm.from_checkpoint(path)
    try:
        assert isinstance(restored, PPO)
        for k, v in restored.get_module().state_dict().items():
            assert torch.equal(v, weights[k]), k
        assert restored.compute_single_action(obs) == action
        r = restored.train()
        assert r["num_env_steps_sampled_lifetime"] == steps + 256
        assert r["training_iteration"] == 2
    finally:
        restored.stop()

    # restore_from_path into a fresh algorithm, and the module on its own.
    fresh = cartpole_config(seed=5).build_algo()
    try:
        fresh.restore_from_path(path)
        for k, v in fresh.get_module().state_dict().items():
            assert torch.equal(v, weights[k]), k
    finally:
        fresh.stop()
    from ember.rllib.core.rl_module.rl_module import RLModule

    module = RLModule.from_checkpoint(tmp_path / "ckpt" / "learner_group" / "learner" /
                                      "rl_module" / "default_policy")
    out = module.forward_inference({"obs": torch.from_numpy(obs[None])})
    assert int(out["action_dist_inputs"].argmax(-1)[0]) == action


def test_forward_inference_and_actions(cartpole_config):
    algo = cartpole_config().build_algo()
    try:
        module = algo.get_module()
        obs = torch.zeros((3, 4))
        out = module.forward_inference({"obs": obs})
        assert out["action_dist_inputs"].shape == (3, 2)
        acts = algo.compute_actions(np.zeros((3, 4), dtype=np.float32))
        assert acts.shape == (3,)
        env = gym.make("CartPole-v1")
        assert env.action_space.contains(int(algo.compute_single_action(env.reset()[0])))
    finally:
        algo.stop()
