"""DQN: learning CartPole with double, dueling, n-step Q-learning and prioritized replay;
the replay buffers and n-step transitions on their own."""

from __future__ import annotations

import numpy as np
import pytest

from ember.rllib.algorithms.dqn import DQNConfig
from ember.rllib.connectors.learner.n_step import n_step_transitions
from ember.rllib.core.columns import Columns
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.utils.replay_buffers import PrioritizedReplayBuffer, ReplayBuffer


def dqn_cartpole_config(seed: int = 0) -> DQNConfig:
    return (DQNConfig()
            .environment("CartPole-v1")
            .env_runners(num_envs_per_env_runner=8, rollout_fragment_length=8)
            .training(lr=1e-3, train_batch_size_per_learner=64, training_intensity=8,
                      target_network_update_freq=500, n_step=3, double_q=True,
                      dueling=True, epsilon=[[0, 1.0], [10_000, 0.02]], grad_clip=10,
                      num_steps_sampled_before_learning_starts=1000,
                      replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                            "capacity": 50_000, "alpha": 0.6,
                                            "beta": 0.4})
            .reporting(min_sample_timesteps_per_iteration=1000)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
            .debugging(seed=seed))


@pytest.mark.timeout(600)
def test_dqn_reaches_300_on_cartpole():
    algo = dqn_cartpole_config().build_algo()
    try:
        ret, steps = 0.0, 0
        while steps < 100_000:  # seeded: about 50k steps, 30 s on two idle cores
            result = algo.train()
            ret = result["env_runners"]["episode_return_mean"]
            steps = result["num_env_steps_sampled_lifetime"]
            if ret >= 300:
                break
        assert ret >= 300, f"mean return {ret} after " \
                           f"{result['num_env_steps_sampled_lifetime']} steps"
        assert "qf_loss" in result["learners"]["default_policy"]
    finally:
        algo.stop()


def test_n_step_transitions_stop_at_episode_ends():
    batch = {Columns.OBS: np.arange(5.0)[:, None], Columns.NEXT_OBS: np.arange(1.0, 6.0)[:, None],
             Columns.ACTIONS: np.zeros(5, dtype=np.int64),
             Columns.REWARDS: np.array([1.0, 1.0, 1.0, 1.0, 1.0]),
             Columns.TERMINATEDS: np.array([False, True, False, False, False]),
             Columns.SEG_ENDS: np.array([False, True, False, False, True])}
    out = n_step_transitions(batch, n=3, gamma=0.5)
    np.testing.assert_allclose(out[Columns.REWARDS], [1.5, 1.0, 1.75, 1.5, 1.0])
    np.testing.assert_allclose(out[Columns.NEXT_OBS][:, 0], [2, 2, 5, 5, 5])
    np.testing.assert_allclose(out[Columns.TERMINATEDS], [1, 1, 0, 0, 0])
    np.testing.assert_allclose(out[Columns.DISCOUNTS], [0.25, 0.5, 0.125, 0.25, 0.5])


def test_prioritized_replay_samples_by_priority():
    buf = PrioritizedReplayBuffer(capacity=8, alpha=1.0, beta=1.0, seed=0)
    idx = buf.add({"x": np.arange(4)})
    buf.update_priorities(idx, np.array([1.0, 1.0, 1.0, 97.0]))
    s = buf.sample(1000)
    share = np.mean(s["x"] == 3)
    assert 0.9 < share < 0.99
    # importance weights undo the skew: the rare items weigh most (max weight 1).
    assert s["weights"][s["x"] == 0].max() == pytest.approx(1.0, rel=1e-3)
    assert s["weights"][s["x"] == 3].max() < 0.05
    # the ring overwrites the oldest rows
    buf.add({"x": np.arange(10, 20)})
    assert len(buf) == 8 and set(buf.sample(200)["x"]) <= set(range(12, 20))


def test_uniform_replay():
    buf = ReplayBuffer(capacity=100, seed=1)
    buf.add({"x": np.arange(50)})
    s = buf.sample(64)
    assert set(s["x"]) <= set(range(50)) and np.all(s["weights"] == 1)
