"""Custom gymnasium envs (by class and by registered name) and custom RLModules."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

from ember.rllib import register_env
from ember.rllib.algorithms.ppo import PPOConfig
from ember.rllib.connectors import ConnectorV2
from ember.rllib.core.columns import Columns
from ember.rllib.core.rl_module.apis import ValueFunctionAPI
from ember.rllib.core.rl_module.rl_module import RLModuleSpec
from ember.rllib.core.rl_module.torch import TorchRLModule


class Corridor(gym.Env):
    """Walk right from 0 to `corridor_length`: -0.1 per step, +1 at the end."""

    def __init__(self, config: dict | None = None):
        config = config or {}
        self.end = int(config.get("corridor_length", 5))
        self.worker_index = getattr(config, "worker_index", None)
        self.observation_space = gym.spaces.Box(0.0, float(self.end), (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.pos = max(0, self.pos + (1 if action == 1 else -1))
        done = self.pos >= self.end
        return (np.array([self.pos], np.float32), 1.0 if done else -0.1, done,
                False, {})


class TinyActorCritic(TorchRLModule, ValueFunctionAPI):
    """A custom module with separate forward passes for acting and training."""

    def setup(self) -> None:
        hidden = self.model_config.get("hidden", 16)
        n_in = int(np.prod(self.observation_space.shape))
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU())
        self.pi = nn.Linear(hidden, self.action_space.n)
        self.v = nn.Linear(hidden, 1)
        self.calls = {"inference": 0, "exploration": 0, "train": 0}

    def _forward_inference(self, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        self.calls["inference"] += 1
        return {Columns.ACTION_DIST_INPUTS: self.pi(self.net(batch[Columns.OBS]))}

    def _forward_exploration(self, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        self.calls["exploration"] += 1
        return {Columns.ACTION_DIST_INPUTS: self.pi(self.net(batch[Columns.OBS]))}

    def _forward_train(self, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        self.calls["train"] += 1
        return {Columns.ACTION_DIST_INPUTS: self.pi(self.net(batch[Columns.OBS]))}

    def compute_values(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.v(self.net(batch[Columns.OBS])).squeeze(-1)


def _ppo() -> PPOConfig:
    return (PPOConfig()
            .env_runners(num_envs_per_env_runner=4)
            .training(lr=3e-3, train_batch_size_per_learner=256, minibatch_size=128,
                      num_epochs=4, gamma=0.95, use_kl_loss=False)
            .debugging(seed=0))


def _learn(config: PPOConfig, iters: int = 30) -> tuple[Any, dict]:
    algo = config.build_algo()
    result = {}
    for _ in range(iters):
        result = algo.train()
        if result["env_runners"]["episode_return_mean"] > 0.4:
            break
    return algo, result


def test_custom_env_class_with_env_config():
    algo, result = _learn(_ppo().environment(Corridor, env_config={"corridor_length": 4}))
    try:
        # optimal: 4 steps right, return 1 - 0.3 = 0.7
        assert result["env_runners"]["episode_return_mean"] > 0.4
        assert result["env_runners"]["episode_len_mean"] < 8
        env = algo.env_runner_group.local_env_runner.env.envs[0].unwrapped
        assert env.end == 4 and env.worker_index == 0
    finally:
        algo.stop()


def test_registered_env_name_and_custom_rl_module():
    register_env("corridor", lambda cfg: Corridor(cfg))
    config = _ppo().environment("corridor", env_config={"corridor_length": 3}).rl_module(
        rl_module_spec=RLModuleSpec(module_class=TinyActorCritic, model_config={"hidden": 8}))
    algo, result = _learn(config)
    try:
        module = algo.get_module()
        assert isinstance(module, TinyActorCritic) and module.net[0].out_features == 8
        assert module.calls["exploration"] > 0 and module.calls["train"] > 0
        assert result["env_runners"]["episode_return_mean"] > 0.4
        out = module.forward_inference({Columns.OBS: torch.zeros(2, 1)})
        assert out[Columns.ACTION_DIST_INPUTS].shape == (2, 2)
        assert module.calls["inference"] == 1
        assert algo.evaluate()["env_runners"]["episode_return_mean"] > 0.4
    finally:
        algo.stop()


class ScaleObs(ConnectorV2):
    """An env-to-module piece: observations times `factor` before the module sees them."""

    def __init__(self, factor: float, seen: list) -> None:
        super().__init__()
        self.factor, self.seen = factor, seen

    def __call__(self, *, rl_module, batch, **kwargs):
        batch[Columns.OBS] = batch[Columns.OBS] * self.factor
        self.seen.append(batch[Columns.OBS].copy())
        return batch


class ShiftRewards(ConnectorV2):
    """A learner connector piece: every reward becomes 1 before advantages are computed."""

    calls = 0

    def __call__(self, *, rl_module, batch, **kwargs):
        ShiftRewards.calls += 1
        for b in batch.values():
            b[Columns.REWARDS] = np.ones_like(b[Columns.REWARDS])
        return batch


def test_custom_connector_pieces_run_before_the_builtin_ones():
    seen: list = []
    config = (_ppo().environment(Corridor, env_config={"corridor_length": 3})
              .env_runners(env_to_module_connector=lambda env: ScaleObs(10.0, seen))
              .training(learner_connector=lambda *a: [ShiftRewards()],
                        train_batch_size_per_learner=64, minibatch_size=64, num_epochs=1))
    algo = config.build_algo()
    try:
        result = algo.train()
        assert seen and all(np.all(o % 10 == 0) for o in seen)
        assert max(float(o.max()) for o in seen) >= 10.0
        assert ShiftRewards.calls == 1
        # with every reward 1 the value targets are large and positive
        assert result["learners"]["default_policy"]["vf_loss_unclipped"] > 0.5
    finally:
        algo.stop()
