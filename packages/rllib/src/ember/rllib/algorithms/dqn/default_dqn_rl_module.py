"""The default Q-network RLModule of DQN: MLP encoder, optional dueling heads."""

from __future__ import annotations

from typing import Any

import torch

from ember.rllib.core.columns import Columns
from ember.rllib.core.models.mlp import mlp
from ember.rllib.core.models.spaces import flat_obs, obs_dim
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ember.rllib.utils.schedules import Scheduler

__all__ = ["QF_PREDS", "DefaultDQNTorchRLModule"]

QF_PREDS = "qf_preds"
_DEFAULTS = {**DefaultModelConfig().__dict__, "fcnet_activation": "relu",
             "dueling": True, "epsilon": [[0, 1.0], [10_000, 0.05]]}


class DefaultDQNTorchRLModule(TorchRLModule):
    """Q(s, .) for Discrete actions; exploration is epsilon-greedy on a schedule of the
    global env step `t` that the env runner passes."""

    def setup(self) -> None:
        cfg = {**_DEFAULTS, **self.model_config}
        hiddens, act = list(cfg["fcnet_hiddens"]), cfg["fcnet_activation"]
        n = int(self.action_space.n)
        width = hiddens[-1] if hiddens else obs_dim(self.observation_space)
        self.encoder = mlp(obs_dim(self.observation_space), hiddens, act)
        self.dueling = bool(cfg["dueling"])
        head_h = list(cfg["head_fcnet_hiddens"])
        self.advantage = mlp(width, head_h, act, n, out_gain=1.0)
        self.value = mlp(width, head_h, act, 1, out_gain=1.0) if self.dueling else None
        self.epsilon = Scheduler(cfg["epsilon"])

    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        emb = self.encoder(flat_obs(self.observation_space, obs))
        adv = self.advantage(emb)
        if self.value is None:
            return adv
        return self.value(emb) + adv - adv.mean(-1, keepdim=True)

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        q = self.q_values(batch[Columns.OBS])
        return {Columns.ACTIONS: q.argmax(-1), QF_PREDS: q}

    def _forward_exploration(self, batch: dict[str, Any], t: int = 0,
                             **kwargs: Any) -> dict[str, Any]:
        q = self.q_values(batch[Columns.OBS])
        greedy = q.argmax(-1)
        eps = self.epsilon.value(t)
        rand = torch.randint(0, q.shape[-1], greedy.shape)
        explore = torch.rand(greedy.shape) < eps
        return {Columns.ACTIONS: torch.where(explore, rand, greedy), QF_PREDS: q}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {QF_PREDS: self.q_values(batch[Columns.OBS])}
