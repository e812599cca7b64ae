"""MARWIL: monotonic advantage re-weighted imitation learning from offline data."""

from __future__ import annotations

import time
from typing import Any

from ember.rllib.algorithms.algorithm import Algorithm
from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.offline.offline_data import OfflineData

__all__ = ["MARWIL", "MARWILConfig"]


class MARWILConfig(AlgorithmConfig):
    """MARWIL's settings, with RLlib's defaults.

    training(): beta (0 = behaviour cloning), vf_coeff,
    moving_average_sqd_adv_norm_start, moving_average_sqd_adv_norm_update_rate. Data
    comes from offline_data(input_=...); the env (if set) serves evaluation.
    """

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or MARWIL)
        self.beta = 1.0
        self.vf_coeff = 1.0
        self.moving_average_sqd_adv_norm_start = 100.0
        self.moving_average_sqd_adv_norm_update_rate = 1e-8
        self.lr = 1e-4
        self.train_batch_size = 2000
        self.dataset_num_iters_per_learner = 1

    def get_default_learner_class(self) -> type:
        from ember.rllib.algorithms.marwil.marwil_learner import MARWILTorchLearner

        return MARWILTorchLearner

    def validate(self) -> None:
        super().validate()
        if self.input_ is None:
            raise ValueError(f"{type(self).__name__} trains from recorded data: set "
                             "config.offline_data(input_=path).")


class MARWIL(Algorithm):
    """Each training step: minibatches of recorded rows -> learner updates."""

    _config_class = MARWILConfig

    def setup_algorithm(self) -> None:
        c = self.config
        obs_space = c.observation_space
        if obs_space is None and self.env_runner_group is not None:
            obs_space = next(iter(self.env_runner_group.get_spaces().values()))[0]
        self.offline_data = OfflineData(c, obs_space)

    def training_step(self) -> dict[str, Any]:
        c = self.config
        bs = c.get_train_batch_size_per_learner() * max(1, c.num_learners)
        results = []
        t0 = time.perf_counter()
        mid = next(iter(c.policies))
        for _ in range(max(1, int(c.dataset_num_iters_per_learner or 1))):
            batch = self.offline_data.sample(bs)
            results.append(self.learner_group.update(
                {mid: batch}, minibatch_size=c.minibatch_size, num_epochs=1,
                timesteps=self._counters["num_env_steps_trained_lifetime"]))
            self._counters["num_env_steps_trained_lifetime"] += bs
        self._timers["learner_update_timer"] = time.perf_counter() - t0
        from ember.rllib.utils.metrics import average_learner_results

        return average_learner_results(results)
