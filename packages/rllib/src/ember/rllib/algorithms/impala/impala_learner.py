"""IMPALATorchLearner: V-trace actor-critic loss."""

from __future__ import annotations

from typing import Any

import torch

from ember.rllib.algorithms.impala.vtrace import VTrace
from ember.rllib.connectors.connector_v2 import ConnectorV2
from ember.rllib.core.columns import Columns
from ember.rllib.core.learner.learner import TorchLearner
from ember.rllib.utils.schedules import Scheduler

__all__ = ["IMPALATorchLearner"]


class IMPALATorchLearner(TorchLearner):
    """-logp * pg_adv + vf_loss_coeff * (V - vs)^2 / 2 - entropy_coeff * entropy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entropy = Scheduler(self.config.entropy_coeff)
        self._timesteps = 0

    def builtin_learner_connectors(self) -> list[ConnectorV2]:
        return [VTrace(self.config)]

    def update(self, batches: dict, **kwargs: Any) -> dict:
        self._timesteps = kwargs.get("timesteps", 0)
        return super().update(batches, **kwargs)

    def policy_loss(self, module_id: str, batch: dict[str, Any], logp: torch.Tensor,
                    dist: Any) -> torch.Tensor:
        return -(logp * batch[Columns.ADVANTAGES]).mean()

    def compute_loss_for_module(self, module_id: str, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        cfg = self.config
        dist = self.module[module_id].get_train_action_dist_cls().from_logits(
            fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = dist.logp(batch[Columns.ACTIONS])
        pi_loss = self.policy_loss(module_id, batch, logp, dist)
        vf = fwd_out.get(Columns.VF_PREDS)
        if vf is None:
            vf = self.module[module_id].compute_values(batch)
        vf_loss = 0.5 * (vf - batch[Columns.VALUE_TARGETS]).pow(2).mean()
        entropy = dist.entropy().mean()
        ent_coeff = self._entropy.value(self._timesteps)
        total = pi_loss + cfg.vf_loss_coeff * vf_loss - ent_coeff * entropy
        self.log(module_id, total_loss=total, policy_loss=pi_loss, vf_loss=vf_loss,
                 entropy=entropy)
        return total
