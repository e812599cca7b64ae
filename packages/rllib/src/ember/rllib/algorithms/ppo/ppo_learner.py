"""PPOTorchLearner: the clipped surrogate loss, value loss, entropy bonus, adaptive KL."""

from __future__ import annotations

from typing import Any

import torch

from ember.rllib.connectors.connector_v2 import ConnectorV2
from ember.rllib.connectors.learner.gae import GeneralAdvantageEstimation
from ember.rllib.core.columns import Columns
from ember.rllib.core.learner.learner import TorchLearner
from ember.rllib.utils.schedules import Scheduler

__all__ = ["PPOTorchLearner"]


class PPOTorchLearner(TorchLearner):
    """RLlib's PPO loss on batches with advantages from GeneralAdvantageEstimation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.curr_kl_coeffs = {mid: float(self.config.kl_coeff) for mid in self.module.keys()}
        self._entropy = Scheduler(self.config.entropy_coeff)
        self._timesteps = 0
        self._kl_sums: dict[str, list[float]] = {}

    def builtin_learner_connectors(self) -> list[ConnectorV2]:
        return [GeneralAdvantageEstimation(self.config.gamma, self.config.lambda_)]

    def update(self, batches: dict, **kwargs: Any) -> dict:
        self._timesteps = kwargs.get("timesteps", 0)
        self._kl_sums = {}
        return super().update(batches, **kwargs)

    def compute_loss_for_module(self, module_id: str, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        cfg = self.config
        module = self.module[module_id]
        dist_cls = module.get_train_action_dist_cls()
        curr = dist_cls.from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = curr.logp(batch[Columns.ACTIONS])
        ratio = torch.exp(logp - batch[Columns.ACTION_LOGP])
        adv = batch[Columns.ADVANTAGES]
        surrogate = torch.min(adv * ratio,
                              adv * ratio.clamp(1 - cfg.clip_param, 1 + cfg.clip_param))
        entropy = curr.entropy().mean()
        if Columns.VF_PREDS in fwd_out:
            vf = fwd_out[Columns.VF_PREDS]
        else:
            vf = module.compute_values(batch)
        vf_err = (vf - batch[Columns.VALUE_TARGETS]).pow(2)
        vf_loss = vf_err.clamp(0, cfg.vf_clip_param).mean() if cfg.use_critic else \
            torch.zeros(())
        ent_coeff = self._entropy.value(self._timesteps)
        total = -surrogate.mean() + cfg.vf_loss_coeff * vf_loss - ent_coeff * entropy
        # KL to the sampling policy: a loss term with use_kl_loss, always a metric.
        prev = dist_cls.from_logits(batch[Columns.ACTION_DIST_INPUTS])
        kl = prev.kl(curr).mean()
        if cfg.use_kl_loss:
            total = total + self.curr_kl_coeffs[module_id] * kl
        self._kl_sums.setdefault(module_id, []).append(kl.item())
        self.log(module_id, total_loss=total, policy_loss=-surrogate.mean(),
                 vf_loss=vf_loss, entropy=entropy, mean_kl_loss=kl,
                 vf_loss_unclipped=vf_err.mean(),
                 curr_entropy_coeff=ent_coeff)
        return total

    def after_gradient_based_update(self, timesteps: int) -> None:
        cfg = self.config
        for mid, kls in self._kl_sums.items():
            if not cfg.use_kl_loss or not kls:
                continue
            kl = sum(kls) / len(kls)
            if kl > 2.0 * cfg.kl_target:
                self.curr_kl_coeffs[mid] *= 1.5
            elif kl < 0.5 * cfg.kl_target:
                self.curr_kl_coeffs[mid] *= 0.5
            self.log(mid, curr_kl_coeff=self.curr_kl_coeffs[mid])

    def get_extra_state(self) -> dict[str, Any]:
        return {"curr_kl_coeffs": dict(self.curr_kl_coeffs)}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.curr_kl_coeffs.update(state.get("curr_kl_coeffs", {}))
