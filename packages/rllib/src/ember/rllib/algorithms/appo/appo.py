"""APPO: asynchronous PPO, IMPALA's architecture with a clipped surrogate objective."""

from __future__ import annotations

from typing import Any

import torch

from ember.rllib.algorithms.impala.impala import IMPALA, IMPALAConfig
from ember.rllib.algorithms.impala.impala_learner import IMPALATorchLearner
from ember.rllib.core.columns import Columns

__all__ = ["APPO", "APPOConfig", "APPOTorchLearner"]


class APPOConfig(IMPALAConfig):
    """APPO's settings: IMPALA's plus clip_param, use_kl_loss, kl_coeff, kl_target."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or APPO)
        self.clip_param = 0.4
        self.use_kl_loss = False
        self.kl_coeff = 1.0
        self.kl_target = 0.01
        self.lr = 5e-4
        self.num_epochs = 1

    def get_default_learner_class(self) -> type:
        return APPOTorchLearner


class APPOTorchLearner(IMPALATorchLearner):
    """Clipped importance ratio to the behaviour policy, times V-trace advantages."""

    def policy_loss(self, module_id: str, batch: dict[str, Any], logp: torch.Tensor,
                    dist: Any) -> torch.Tensor:
        cfg = self.config
        adv = batch[Columns.ADVANTAGES]
        adv = (adv - adv.mean()) / adv.std().clamp(min=1e-4)
        ratio = torch.exp(logp - batch[Columns.ACTION_LOGP])
        surrogate = torch.min(adv * ratio,
                              adv * ratio.clamp(1 - cfg.clip_param, 1 + cfg.clip_param))
        loss = -surrogate.mean()
        if cfg.use_kl_loss:
            prev = type(dist).from_logits(batch[Columns.ACTION_DIST_INPUTS])
            kl = prev.kl(dist).mean()
            loss = loss + cfg.kl_coeff * kl
            self.log(module_id, mean_kl_loss=kl)
        return loss


class APPO(IMPALA):
    """RLlib's APPO on the new API stack."""

    _config_class = APPOConfig
