"""IMPALA: asynchronous sampling, V-trace corrected actor-critic (RLlib's IMPALA)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ember.rllib.algorithms.algorithm import Algorithm
from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.core.columns import Columns

__all__ = ["IMPALA", "IMPALAConfig"]


class IMPALAConfig(AlgorithmConfig):
    """IMPALA's settings, with RLlib's defaults.

    training(): vtrace, vtrace_clip_rho_threshold, vtrace_clip_pg_rho_threshold,
    vf_loss_coeff, entropy_coeff, plus lr, train_batch_size_per_learner,
    minibatch_size, num_epochs, grad_clip. Env runners sample asynchronously: each has
    one request in flight, and the learner trains on whatever fragments have arrived.
    """

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or IMPALA)
        self.vtrace = True
        self.vtrace_clip_rho_threshold = 1.0
        self.vtrace_clip_pg_rho_threshold = 1.0
        self.lr = 5e-4
        self.train_batch_size = 500
        self.rollout_fragment_length = 50
        self.num_epochs = 1
        self.vf_loss_coeff = 0.5
        self.entropy_coeff: Any = 0.01
        self.grad_clip = 40.0
        self.min_time_s_per_iteration = None

    def get_default_learner_class(self) -> type:
        from ember.rllib.algorithms.impala.impala_learner import IMPALATorchLearner

        return IMPALATorchLearner


class IMPALA(Algorithm):
    """Collect fragments from env runners as they finish; train once a batch is full."""

    _config_class = IMPALAConfig
    sync_weights_after_training_step = False

    def setup_algorithm(self) -> None:
        self._pending: dict[str, list[dict[str, np.ndarray]]] = {}
        self._pending_steps = 0
        self._fresh_weights: dict[str, Any] | None = None

    def training_step(self) -> dict[str, Any]:
        c = self.config
        g = self.env_runner_group
        t0 = time.perf_counter()
        if g.local_env_runner is not None:
            results = g.sample(weights=self.weights_for_runners())
        else:
            results = g.sample_async(weights=self._fresh_weights)
            self._fresh_weights = None
        self._timers["env_runner_sampling_timer"] = time.perf_counter() - t0
        for mid, b in self.record_samples(results).items():
            self._pending.setdefault(mid, []).append(b)
        self._pending_steps += sum(r.env_steps for r in results)
        if self._pending_steps < c.total_train_batch_size:
            return {}
        batches = {mid: {k: np.concatenate([b[k] for b in bs]) for k in bs[0]}
                   for mid, bs in self._pending.items()}
        self._pending, self._pending_steps = {}, 0
        t0 = time.perf_counter()
        res = self.learner_group.update(
            batches, minibatch_size=c.minibatch_size, num_epochs=c.num_epochs,
            timesteps=self._counters["num_env_steps_sampled_lifetime"])
        self._timers["learner_update_timer"] = time.perf_counter() - t0
        self._counters["num_env_steps_trained_lifetime"] += sum(
            len(b[Columns.REWARDS]) for b in batches.values())
        if g.local_env_runner is None:
            self._fresh_weights = self.learner_group.get_weights()
        return res
