"""RLlib test fixtures: an embedded 2-CPU cluster for tests that start actors."""

from __future__ import annotations

import pytest

import ember


@pytest.fixture(scope="module")
def cluster():
    """An embedded 2-CPU cluster shared by the tests of one module; shut down after."""
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    """Never write Tune results to the home directory from tests."""
    monkeypatch.setenv("EMBER_RESULTS_DIR", str(tmp_path / "ember_results"))


def fast_cartpole_config(seed: int = 0):
    """PPO settings that solve CartPole in well under 150k env steps."""
    from ember.rllib.algorithms.ppo import PPOConfig
    from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (PPOConfig()
            .environment("CartPole-v1")
            .env_runners(num_envs_per_env_runner=8)
            .training(lr=[[0, 1e-3], [150_000, 1e-4]], train_batch_size_per_learner=256,
                      minibatch_size=256, num_epochs=20, gamma=0.98, lambda_=0.8,
                      clip_param=0.2, vf_loss_coeff=0.5, use_kl_loss=False, grad_clip=0.5)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
            .debugging(seed=seed))


@pytest.fixture(scope="session")
def trained_cartpole_ppo(tmp_path_factory):
    """PPO trained on CartPole until a mean return of 450 (or 150k env steps):
    (checkpoint path, last result, greedy evaluation). Shared by the PPO learning test
    and the offline tests that record its episodes."""
    algo = fast_cartpole_config(seed=0).build_algo()
    try:
        while True:
            result = algo.train()
            if result["env_runners"]["episode_return_mean"] >= 450 or \
                    result["num_env_steps_sampled_lifetime"] >= 150_000:
                break
        evaluation = algo.evaluate()
        path = algo.save_to_path(tmp_path_factory.mktemp("ppo_cartpole"))
    finally:
        algo.stop()
    return path, result, evaluation


@pytest.fixture(scope="session")
def cartpole_config():
    """The factory of fast PPO CartPole configs: cartpole_config(seed=0) -> PPOConfig."""
    return fast_cartpole_config
