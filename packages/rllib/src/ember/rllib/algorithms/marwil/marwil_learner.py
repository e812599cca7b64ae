"""MARWILTorchLearner: advantage-weighted imitation (beta > 0) or plain BC (beta = 0)."""

from __future__ import annotations

from typing import Any

import torch

from ember.rllib.core.columns import Columns
from ember.rllib.core.learner.learner import TorchLearner
from ember.rllib.offline.offline_data import RETURNS

__all__ = ["MARWILTorchLearner"]


class MARWILTorchLearner(TorchLearner):
    """-E[exp(beta * A / c) log pi(a|s)] + vf_coeff * E[(V - R)^2] / 2, with c the running
    root mean square of advantages (Wang et al. 2018)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sq_adv_norm = {mid: float(self.config.moving_average_sqd_adv_norm_start)
                             for mid in self.module.keys()}

    def compute_loss_for_module(self, module_id: str, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        cfg = self.config
        module = self.module[module_id]
        dist = module.get_train_action_dist_cls().from_logits(
            fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = dist.logp(batch[Columns.ACTIONS])
        if cfg.beta == 0.0:
            loss = -logp.mean()
            self.log(module_id, policy_loss=loss, total_loss=loss)
            return loss
        values = fwd_out.get(Columns.VF_PREDS)
        if values is None:
            values = module.compute_values(batch)
        adv = batch[RETURNS] - values
        adv_d = adv.detach()
        rate = cfg.moving_average_sqd_adv_norm_update_rate
        self._sq_adv_norm[module_id] += rate * (float(adv_d.pow(2).mean()) -
                                                self._sq_adv_norm[module_id])
        weights = torch.exp(cfg.beta * adv_d / (1e-8 + self._sq_adv_norm[module_id] ** 0.5))
        weights = weights.clamp(max=20.0)
        pi_loss = -(weights * logp).mean()
        vf_loss = 0.5 * adv.pow(2).mean()
        total = pi_loss + cfg.vf_coeff * vf_loss
        self.log(module_id, policy_loss=pi_loss, vf_loss=vf_loss, total_loss=total,
                 mean_adv_weight=weights.mean())
        return total

    def get_extra_state(self) -> dict[str, Any]:
        return {"sq_adv_norm": dict(self._sq_adv_norm)}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self._sq_adv_norm.update(state.get("sq_adv_norm", {}))
