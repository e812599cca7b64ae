"""DQN: double, dueling, n-step Q-learning with prioritized replay (RLlib's DQN)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ember.rllib.algorithms.algorithm import Algorithm
from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.connectors.learner.n_step import n_step_transitions
from ember.rllib.core.columns import Columns
from ember.rllib.core.rl_module.rl_module import RLModuleSpec
from ember.rllib.utils.replay_buffers import make_replay_buffer

__all__ = ["DQN", "DQNConfig", "OffPolicyAlgorithm"]


class DQNConfig(AlgorithmConfig):
    """DQN's settings, with RLlib's defaults.

    training(): replay_buffer_config ({"type": "PrioritizedEpisodeReplayBuffer" or
    "EpisodeReplayBuffer", "capacity", "alpha", "beta"}), num_steps_sampled_before_learning_starts,
    target_network_update_freq (env steps), tau, n_step, double_q, dueling, epsilon
    (schedule [[t, eps], ...]), td_error_loss_fn ("huber"/"mse"), training_intensity.
    """

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or DQN)
        self.lr = 5e-4
        self.train_batch_size = 32
        self.rollout_fragment_length = 1
        self.min_sample_timesteps_per_iteration = 1000
        self.replay_buffer_config: dict[str, Any] = {
            "type": "PrioritizedEpisodeReplayBuffer", "capacity": 50_000,
            "alpha": 0.6, "beta": 0.4}
        self.num_steps_sampled_before_learning_starts = 1000
        self.target_network_update_freq = 500
        self.tau = 1.0
        self.n_step = 1
        self.double_q = True
        self.dueling = True
        self.epsilon: Any = [[0, 1.0], [10_000, 0.05]]
        self.td_error_loss_fn = "huber"
        self.training_intensity: float | None = None
        self.grad_clip = 40.0

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        from ember.rllib.algorithms.dqn.default_dqn_rl_module import DefaultDQNTorchRLModule

        return RLModuleSpec(module_class=DefaultDQNTorchRLModule)

    def get_rl_module_spec(self, *args: Any, **kwargs: Any) -> RLModuleSpec:
        spec = super().get_rl_module_spec(*args, **kwargs)
        spec.model_config = {"dueling": self.dueling, "epsilon": self.epsilon,
                             "fcnet_activation": "relu", **spec.model_config}
        return spec

    def get_default_learner_class(self) -> type:
        from ember.rllib.algorithms.dqn.dqn_learner import DQNTorchLearner

        return DQNTorchLearner


class OffPolicyAlgorithm(Algorithm):
    """Sample a fragment into a replay buffer, then replay minibatches to the learner."""

    def setup_algorithm(self) -> None:
        c = self.config
        self.replay_buffers = {mid: make_replay_buffer(c.replay_buffer_config, c.seed)
                               for mid in c.policies}

    def _add_to_buffers(self, batches: dict[str, dict[str, np.ndarray]]) -> None:
        c = self.config
        for mid, b in batches.items():
            self.replay_buffers[mid].add(n_step_transitions(b, getattr(c, "n_step", 1),
                                                            c.gamma))

    def training_step(self) -> dict[str, Any]:
        c = self.config
        lifetime = self._counters["num_env_steps_sampled_lifetime"]
        warmup = lifetime < c.num_steps_sampled_before_learning_starts
        random_actions = warmup and getattr(c, "random_warmup", False)
        frag = c.get_rollout_fragment_length() if c.rollout_fragment_length != "auto" else 1
        envs = max(1, c.num_env_runners) * max(1, c.num_envs_per_env_runner)
        batches = self.sample(num_timesteps=frag * envs, random_actions=random_actions,
                              global_step=lifetime)
        self._add_to_buffers(batches)
        lifetime = self._counters["num_env_steps_sampled_lifetime"]
        if lifetime < c.num_steps_sampled_before_learning_starts:
            return {}
        sampled = sum(len(b[Columns.REWARDS]) for b in batches.values())
        bs = c.get_train_batch_size_per_learner() * max(1, c.num_learners)
        updates = 1 if not c.training_intensity else \
            max(1, round(c.training_intensity * sampled / bs))
        results = []
        t0 = time.perf_counter()
        for _ in range(updates):
            train = {mid: buf.sample(bs) for mid, buf in self.replay_buffers.items()
                     if len(buf)}
            res = self.learner_group.update(train, timesteps=lifetime)
            for mid, b in train.items():
                td = res.get(mid, {}).pop("_td_error", None)
                if td is not None:
                    self.replay_buffers[mid].update_priorities(b["batch_indexes"], td)
            self._counters["num_env_steps_trained_lifetime"] += bs
            results.append(res)
        self._timers["learner_update_timer"] = time.perf_counter() - t0
        from ember.rllib.utils.metrics import average_learner_results

        return average_learner_results(results)

    def get_extra_state(self) -> dict[str, Any]:
        return {"replay_sizes": {m: len(b) for m, b in self.replay_buffers.items()}}


class DQN(OffPolicyAlgorithm):
    """RLlib's DQN on the new API stack."""

    _config_class = DQNConfig
