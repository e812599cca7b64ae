"""The config builder: RLlib's method groups, dicts, copies, freezing, validation."""

from __future__ import annotations

import pytest

import ember.rllib
from ember.rllib.algorithms.dqn import DQNConfig
from ember.rllib.algorithms.ppo import PPO, PPOConfig
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig


def test_builder_methods_set_rllib_attributes():
    config = (PPOConfig()
              .environment("CartPole-v1", env_config={"a": 1})
              .env_runners(num_env_runners=0, num_envs_per_env_runner=4,
                           rollout_fragment_length=16)
              .learners(num_learners=0)
              .training(lr=1e-3, gamma=0.95, train_batch_size_per_learner=64,
                        minibatch_size=32, num_epochs=3, lambda_=0.9, clip_param=0.1,
                        vf_loss_coeff=0.25, entropy_coeff=0.01, grad_clip=1.0)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16],
                                                         fcnet_activation="relu",
                                                         vf_share_layers=True))
              .evaluation(evaluation_interval=2, evaluation_duration=3,
                          evaluation_num_env_runners=0)
              .multi_agent(policies={"p"}, policy_mapping_fn=lambda aid, ep, **kw: "p")
              .debugging(seed=3))
    assert config.env == "CartPole-v1" and config.env_config == {"a": 1}
    assert config.num_envs_per_env_runner == 4 and config.rollout_fragment_length == 16
    assert config.lambda_ == 0.9 and config.clip_param == 0.1 and config.num_epochs == 3
    assert config.evaluation_interval == 2 and config.seed == 3
    assert config.policies == {"p": None} and config.is_multi_agent
    assert config.model_config.vf_share_layers
    assert config.total_train_batch_size == 64


def test_unknown_keywords_are_refused_with_the_valid_names():
    with pytest.raises(TypeError, match="num_env_runners"):
        PPOConfig().env_runners(num_workerz=2)
    with pytest.raises(TypeError, match="clip_param"):
        PPOConfig().training(clip_parm=0.2)
    with pytest.raises(TypeError):
        DQNConfig().training(clip_param=0.2)  # a PPO setting


def test_dict_roundtrip_copy_and_old_names():
    config = PPOConfig().environment("CartPole-v1").training(lambda_=0.7, lr=3e-4)
    d = config.to_dict()
    assert d["lambda"] == 0.7 and d["lr"] == 3e-4
    again = PPOConfig.from_dict(d)
    assert again.lambda_ == 0.7 and again.env == "CartPole-v1"
    assert PPOConfig().training(sgd_minibatch_size=64, num_sgd_iter=2).minibatch_size == 64
    copied = config.copy()
    copied.training(lr=1.0)
    assert config.lr == 3e-4


def test_built_algorithm_freezes_its_config_and_alias_build():
    algo = PPOConfig().environment("CartPole-v1").training(
        train_batch_size_per_learner=64, minibatch_size=32).build()
    try:
        assert isinstance(algo, PPO)
        with pytest.raises(RuntimeError, match="frozen"):
            algo.config.training(lr=1.0)
        assert algo.config.copy().training(lr=1.0).lr == 1.0
    finally:
        algo.stop()


def test_validation_errors_name_the_problem():
    with pytest.raises(ValueError, match="environment"):
        PPOConfig().build_algo()
    with pytest.raises(ValueError, match="minibatch_size"):
        PPOConfig().environment("CartPole-v1").training(
            train_batch_size_per_learner=32, minibatch_size=64).build_algo()
    with pytest.raises(ValueError, match="Unknown env"):
        PPOConfig().environment("NoSuchEnv-v9").build_algo()


def test_package_exports():
    assert ember.rllib.__all__ == sorted(ember.rllib.__all__)
    assert set(ember.rllib.__all__) == {"MultiAgentEnv", "algorithms", "register_env"}
    assert ember.rllib.algorithms.__all__ == sorted(ember.rllib.algorithms.__all__)
