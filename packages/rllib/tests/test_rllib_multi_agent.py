"""Multi-agent: two agents on a cooperative env, with independent and shared policies."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from ember.rllib.algorithms.ppo import PPOConfig
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.core.rl_module.rl_module import RLModuleSpec
from ember.rllib.env.multi_agent_env import MultiAgentEnv


class SignalGame(MultiAgentEnv):
    """Both agents see a random signal s in {0, 1, 2} and their own id. Agent 0 should
    play s and agent 1 (s + 1) % 3; the team reward (shared by both) is the fraction of
    agents that did. Ten steps per episode: a perfect team scores 20 (10 each), a random
    one about 6.7."""

    def __init__(self, config=None):
        super().__init__()
        self.possible_agents = self.agents = ["a0", "a1"]
        space = gym.spaces.Box(0.0, 1.0, (5,), np.float32)
        self.observation_spaces = {a: space for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(3) for a in self.agents}
        self._rng = np.random.default_rng(0)

    def _obs(self):
        out = {}
        for k, a in enumerate(self.agents):
            o = np.zeros(5, np.float32)
            o[self._s] = 1.0
            o[3 + k] = 1.0
            out[a] = o
        return out

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t, self._s = 0, int(self._rng.integers(3))
        return self._obs(), {}

    def step(self, action_dict):
        r = 0.5 * (float(action_dict["a0"] == self._s) +
                   float(action_dict["a1"] == (self._s + 1) % 3))
        self._t += 1
        self._s = int(self._rng.integers(3))
        done = self._t >= 10
        return (self._obs(), {"a0": r, "a1": r}, {"__all__": done}, {"__all__": False}, {})


def _config() -> PPOConfig:
    return (PPOConfig()
            .environment(SignalGame)
            .env_runners(num_envs_per_env_runner=4)
            .training(lr=3e-3, train_batch_size_per_learner=400, minibatch_size=200,
                      num_epochs=8, gamma=0.9, lambda_=0.9, entropy_coeff=0.0,
                      use_kl_loss=False)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32]))
            .reporting(metrics_num_episodes_for_smoothing=20)
            .debugging(seed=0))


def _train_until(algo, target: float, iters: int = 60) -> dict:
    result = {}
    for _ in range(iters):
        result = algo.train()
        if result["env_runners"]["episode_return_mean"] >= target:
            break
    return result


@pytest.mark.timeout(600)
def test_two_independent_policies_learn_to_cooperate():
    config = _config().multi_agent(
        policies={"p0", "p1"},
        policy_mapping_fn=lambda agent_id, episode, **kw: "p" + agent_id[1])
    algo = config.build_algo()
    try:
        result = _train_until(algo, 17.0)
        runners = result["env_runners"]
        assert runners["episode_return_mean"] >= 17.0, runners
        assert set(result["learners"]) >= {"p0", "p1"}
        assert runners["module_episode_returns_mean"]["p0"] >= 8.5
        assert set(runners["agent_episode_returns_mean"]) == {"a0", "a1"}
        # the two modules are different networks that learned different mappings
        obs = np.array([[1, 0, 0, 1, 0]], np.float32)
        assert algo.compute_single_action(obs[0], policy_id="p0") == 0
        obs1 = np.array([1, 0, 0, 0, 1], np.float32)
        assert algo.compute_single_action(obs1, policy_id="p1") == 1
    finally:
        algo.stop()


@pytest.mark.timeout(600)
def test_shared_policy_and_policies_to_train():
    config = _config().multi_agent(
        policies={"shared": RLModuleSpec(), "frozen": None},
        policy_mapping_fn=lambda agent_id, episode, **kw: "shared",
        policies_to_train=["shared"])
    algo = config.build_algo()
    try:
        frozen_before = {k: v.clone() for k, v in algo.get_module("frozen").state_dict().items()}
        result = _train_until(algo, 17.0, iters=200)
        assert result["env_runners"]["episode_return_mean"] >= 17.0
        assert "shared" in result["learners"] and "frozen" not in result["learners"]
        for k, v in algo.get_module("frozen").state_dict().items():
            assert (v == frozen_before[k]).all(), k
    finally:
        algo.stop()
