"""PPO: proximal policy optimization (RLlib's PPOConfig and PPO)."""

from __future__ import annotations

import time
from typing import Any

from ember.rllib.algorithms.algorithm import Algorithm
from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.core.columns import Columns

__all__ = ["PPO", "PPOConfig"]


class PPOConfig(AlgorithmConfig):
    """PPO's settings, with RLlib's defaults.

    training(): lambda_, use_critic, use_gae, use_kl_loss, kl_coeff, kl_target,
    vf_loss_coeff, entropy_coeff (value or schedule), clip_param, vf_clip_param, plus the
    common lr, gamma, train_batch_size_per_learner, minibatch_size, num_epochs, grad_clip.
    """

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or PPO)
        self.lr = 5e-5
        self.train_batch_size = 4000
        self.minibatch_size = 128
        self.num_epochs = 30
        self.shuffle_batch_per_epoch = True
        self.lambda_ = 1.0
        self.use_critic = True
        self.use_gae = True
        self.use_kl_loss = True
        self.kl_coeff = 0.2
        self.kl_target = 0.01
        self.vf_loss_coeff = 1.0
        self.entropy_coeff: Any = 0.0
        self.clip_param = 0.3
        self.vf_clip_param = 10.0
        self.grad_clip = None

    def get_default_learner_class(self) -> type:
        from ember.rllib.algorithms.ppo.ppo_learner import PPOTorchLearner

        return PPOTorchLearner


class PPO(Algorithm):
    """Sample a train batch with the current policy, then epochs of minibatch SGD on it."""

    _config_class = PPOConfig

    def training_step(self) -> dict[str, Any]:
        c = self.config
        batches = self.sample(num_timesteps=c.total_train_batch_size)
        steps = sum(len(b[Columns.REWARDS]) for b in batches.values())
        t0 = time.perf_counter()
        res = self.learner_group.update(
            batches, minibatch_size=c.minibatch_size, num_epochs=c.num_epochs,
            timesteps=self._counters["num_env_steps_sampled_lifetime"],
            shuffle=c.shuffle_batch_per_epoch)
        self._timers["learner_update_timer"] = time.perf_counter() - t0
        self._counters["num_env_steps_trained_lifetime"] += steps
        return res
