"""Env runners and learners as ember actors: sampling, replacement after SIGKILL, and
gradient averaging over ember.util.collective."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from ember.rllib.algorithms.ppo import PPOConfig
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig


def _config() -> PPOConfig:
    return (PPOConfig()
            .environment("CartPole-v1")
            .training(train_batch_size_per_learner=256, minibatch_size=128, num_epochs=2,
                      lr=1e-3)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32]))
            .debugging(seed=1))


@pytest.mark.timeout(600)
def test_remote_env_runners_sample_and_a_killed_runner_is_replaced(cluster):
    config = _config().env_runners(num_env_runners=2, num_envs_per_env_runner=2)
    algo = config.build_algo()
    try:
        r = algo.train()
        assert r["num_env_steps_sampled_lifetime"] >= 256
        pids = algo.env_runner_group.foreach_env_runner(lambda runner: runner.pid())
        assert len(pids) == 2 and os.getpid() not in pids
        os.kill(pids[0], signal.SIGKILL)
        steps_before = r["num_env_steps_sampled_lifetime"]
        for _ in range(3):
            r = algo.train()
        assert r["num_env_steps_sampled_lifetime"] > steps_before
        assert r["fault_tolerance"]["num_remote_worker_restarts"] == 1
        assert r["fault_tolerance"]["num_healthy_workers"] == 2
        new_pids = algo.env_runner_group.foreach_env_runner(lambda runner: runner.pid())
        assert len(new_pids) == 2 and pids[0] not in new_pids and pids[1] in new_pids
        # The replacement acts with the same (latest) weights as the surviving runner.
        a, b = algo.env_runner_group.foreach_env_runner(
            lambda runner: runner.module.get_state())
        for k, v in a.items():
            assert torch.equal(v, b[k]), k
    finally:
        algo.stop()


@pytest.mark.timeout(600)
def test_two_learner_actors_stay_in_sync(cluster):
    config = _config().learners(num_learners=2).env_runners(num_envs_per_env_runner=4)
    algo = config.build_algo()
    try:
        before = algo.learner_group.get_weights()["default_policy"]
        for _ in range(2):
            r = algo.train()
        assert r["num_env_steps_sampled_lifetime"] == 2 * 512
        assert r["learners"]["default_policy"]["num_module_steps_trained"] == 512 * 2
        states = algo.learner_group.foreach_learner(
            lambda learner: learner.get_weights()["default_policy"])
        assert len(states) == 2
        changed = False
        for k, v in states[0].items():
            assert torch.equal(v, states[1][k]), k  # allreduce kept the copies identical
            changed |= not torch.equal(v, before[k])
        assert changed
        assert np.isfinite(r["learners"]["default_policy"]["total_loss"])
        # the driver's env runner acts with the learners' weights
        local = algo.env_runner_group.local_env_runner.module.get_state()
        for k, v in local.items():
            assert torch.equal(v, states[0][k]), k
    finally:
        algo.stop()
