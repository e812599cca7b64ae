"""The default actor-critic RLModule of PPO (also used by IMPALA, APPO, BC and MARWIL)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
import torch.nn as nn

from ember.rllib.core.columns import Columns
from ember.rllib.core.distributions import dist_class_for
from ember.rllib.core.models.mlp import mlp
from ember.rllib.core.models.spaces import flat_obs, obs_dim
from ember.rllib.core.rl_module.apis import ValueFunctionAPI
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule

__all__ = ["DefaultPPOTorchRLModule"]

_DEFAULTS = DefaultModelConfig().__dict__


class DefaultPPOTorchRLModule(TorchRLModule, ValueFunctionAPI):
    """An MLP policy head and value head, on a shared or separate trunk."""

    def setup(self) -> None:
        cfg = {**_DEFAULTS, **self.model_config}
        hiddens, act = list(cfg["fcnet_hiddens"]), cfg["fcnet_activation"]
        head_h, head_act = list(cfg["head_fcnet_hiddens"]), cfg["head_fcnet_activation"]
        d_in = obs_dim(self.observation_space)
        out = dist_class_for(self.action_space).required_input_dim(self.action_space)
        self._free_log_std = bool(cfg["free_log_std"]) and \
            isinstance(self.action_space, gym.spaces.Box)
        if self._free_log_std:
            out //= 2
            self.log_std = nn.Parameter(torch.zeros(out))
        self.vf_share_layers = bool(cfg["vf_share_layers"])
        width = hiddens[-1] if hiddens else d_in
        self.encoder = mlp(d_in, hiddens, act)
        self.vf_encoder = None if self.vf_share_layers else mlp(d_in, hiddens, act)
        self.pi = mlp(width, head_h, head_act, out, out_gain=0.01)
        self.vf = mlp(width, head_h, head_act, 1, out_gain=1.0)

    def _pi(self, emb: torch.Tensor) -> torch.Tensor:
        logits = self.pi(emb)
        if self._free_log_std:
            logits = torch.cat([logits, self.log_std.expand_as(logits)], -1)
        return logits

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        x = flat_obs(self.observation_space, batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self._pi(self.encoder(x))}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        x = flat_obs(self.observation_space, batch[Columns.OBS])
        emb = self.encoder(x)
        vf_emb = emb if self.vf_encoder is None else self.vf_encoder(x)
        return {Columns.ACTION_DIST_INPUTS: self._pi(emb),
                Columns.VF_PREDS: self.vf(vf_emb).squeeze(-1)}

    def compute_values(self, batch: dict[str, Any]) -> torch.Tensor:
        x = flat_obs(self.observation_space, batch[Columns.OBS])
        enc = self.encoder if self.vf_encoder is None else self.vf_encoder
        return self.vf(enc(x)).squeeze(-1)
