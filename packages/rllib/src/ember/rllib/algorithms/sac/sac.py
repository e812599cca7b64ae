"""SAC: soft actor-critic for continuous actions (RLlib's SACConfig and SAC)."""

from __future__ import annotations

from typing import Any

from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.algorithms.dqn.dqn import OffPolicyAlgorithm
from ember.rllib.core.rl_module.rl_module import RLModuleSpec

__all__ = ["SAC", "SACConfig"]


class SACConfig(AlgorithmConfig):
    """SAC's settings, with RLlib's defaults.

    training(): twin_q, tau, initial_alpha, target_entropy ("auto" = -action dims),
    actor_lr, critic_lr, alpha_lr, n_step, replay_buffer_config,
    num_steps_sampled_before_learning_starts (random actions until then),
    training_intensity.
    """

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or SAC)
        self.twin_q = True
        self.tau = 5e-3
        self.initial_alpha = 1.0
        self.target_entropy: Any = "auto"
        self.actor_lr: Any = 3e-5
        self.critic_lr: Any = 3e-4
        self.alpha_lr: Any = 3e-4
        self.lr = None
        self.n_step = 1
        self.train_batch_size = 256
        self.rollout_fragment_length = 1
        self.min_sample_timesteps_per_iteration = 100
        self.replay_buffer_config: dict[str, Any] = {
            "type": "PrioritizedEpisodeReplayBuffer", "capacity": 1_000_000,
            "alpha": 0.6, "beta": 0.4}
        self.num_steps_sampled_before_learning_starts = 1500
        self.random_warmup = True
        self.training_intensity: float | None = None

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        from ember.rllib.algorithms.sac.default_sac_rl_module import DefaultSACTorchRLModule

        return RLModuleSpec(module_class=DefaultSACTorchRLModule)

    def get_rl_module_spec(self, *args: Any, **kwargs: Any) -> RLModuleSpec:
        spec = super().get_rl_module_spec(*args, **kwargs)
        spec.model_config = {"twin_q": self.twin_q, **spec.model_config}
        return spec

    def get_default_learner_class(self) -> type:
        from ember.rllib.algorithms.sac.sac_learner import SACTorchLearner

        return SACTorchLearner


class SAC(OffPolicyAlgorithm):
    """RLlib's SAC on the new API stack."""

    _config_class = SACConfig
