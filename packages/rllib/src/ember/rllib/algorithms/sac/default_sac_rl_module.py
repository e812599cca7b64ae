"""The default SAC RLModule: a squashed-Gaussian policy and twin Q-networks."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from ember.rllib.core.columns import Columns
from ember.rllib.core.distributions import TorchSquashedGaussian
from ember.rllib.core.models.mlp import mlp
from ember.rllib.core.models.spaces import action_dim, flat_obs, obs_dim
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule

__all__ = ["DefaultSACTorchRLModule"]

_DEFAULTS = {**DefaultModelConfig().__dict__, "fcnet_activation": "relu", "twin_q": True}


class _SquashedUnit(TorchSquashedGaussian):
    """tanh-Gaussian on [-1, 1]: actions are normalized; the env runner rescales them."""


class DefaultSACTorchRLModule(TorchRLModule):
    """pi(a|s) as tanh(N(mu, sigma)) in [-1, 1]^d; Q1, Q2 over (s, a)."""

    def setup(self) -> None:
        cfg = {**_DEFAULTS, **self.model_config}
        hiddens, act = list(cfg["fcnet_hiddens"]), cfg["fcnet_activation"]
        d_obs, d_act = obs_dim(self.observation_space), action_dim(self.action_space)
        self.pi = mlp(d_obs, hiddens, act, 2 * d_act, out_gain=0.01)
        self.twin_q = bool(cfg["twin_q"])
        self.qf = mlp(d_obs + d_act, hiddens, act, 1)
        self.qf_twin = mlp(d_obs + d_act, hiddens, act, 1) if self.twin_q else None

    def get_exploration_action_dist_cls(self) -> type:
        return _SquashedUnit

    def get_inference_action_dist_cls(self) -> type:
        return _SquashedUnit

    def get_train_action_dist_cls(self) -> type:
        return _SquashedUnit

    def policy_dist(self, obs: torch.Tensor) -> TorchSquashedGaussian:
        return _SquashedUnit(self.pi(flat_obs(self.observation_space, obs)))

    def q_values(self, obs: torch.Tensor, actions: torch.Tensor,
                 twin: bool = False) -> torch.Tensor:
        x = torch.cat([flat_obs(self.observation_space, obs), actions.float()], -1)
        net = self.qf_twin if twin else self.qf
        return net(x).squeeze(-1)

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        logits = self.pi(flat_obs(self.observation_space, batch[Columns.OBS]))
        return {Columns.ACTIONS: _SquashedUnit(logits).deterministic_sample(),
                Columns.ACTION_DIST_INPUTS: logits}

    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        logits = self.pi(flat_obs(self.observation_space, batch[Columns.OBS]))
        return {Columns.ACTIONS: _SquashedUnit(logits).sample(),
                Columns.ACTION_DIST_INPUTS: logits}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self.pi(flat_obs(self.observation_space,
                                                               batch[Columns.OBS]))}

    def policy_parameters(self) -> list[nn.Parameter]:
        return list(self.pi.parameters())

    def q_parameters(self) -> list[nn.Parameter]:
        params = list(self.qf.parameters())
        if self.qf_twin is not None:
            params += list(self.qf_twin.parameters())
        return params
