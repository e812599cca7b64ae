"""DQNTorchLearner: (double) Q-learning with n-step targets, target network, PER weights."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ember.rllib.algorithms.dqn.default_dqn_rl_module import QF_PREDS
from ember.rllib.core.columns import Columns
from ember.rllib.core.learner.learner import TorchLearner

__all__ = ["TD_ERROR_KEY", "DQNTorchLearner", "polyak_update"]

TD_ERROR_KEY = "_td_error"


def polyak_update(target: torch.nn.Module, source: torch.nn.Module, tau: float) -> None:
    """target <- tau * source + (1 - tau) * target (one fused op over all tensors)."""
    cached = target.__dict__.get("_polyak_pairs")
    if cached is None or cached[0] is not source:
        cached = (source, list(target.parameters()), list(source.parameters()))
        target.__dict__["_polyak_pairs"] = cached
    pairs = cached[1:]
    with torch.no_grad():
        if tau >= 1.0:
            for t, s in zip(*pairs, strict=True):
                t.copy_(s)
        else:
            torch._foreach_lerp_(pairs[0], pairs[1], tau)


class DQNTorchLearner(TorchLearner):
    """Huber (or MSE) TD loss; returns per-sample TD errors for prioritized replay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target_modules = {mid: copy.deepcopy(self.module[mid]).requires_grad_(False)
                               for mid in self.module.keys()}
        self._last_target_update = 0
        self._td: dict[str, np.ndarray] = {}

    def compute_loss_for_module(self, module_id: str, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        cfg = self.config
        module, target = self.module[module_id], self.target_modules[module_id]
        q = fwd_out[QF_PREDS]
        q_sel = q.gather(-1, batch[Columns.ACTIONS].long().unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():
            q_next_t = target.q_values(batch[Columns.NEXT_OBS])
            if cfg.double_q:
                best = module.q_values(batch[Columns.NEXT_OBS]).argmax(-1, keepdim=True)
            else:
                best = q_next_t.argmax(-1, keepdim=True)
            q_next = q_next_t.gather(-1, best).squeeze(-1)
            discounts = batch.get(Columns.DISCOUNTS)
            if discounts is None:
                discounts = torch.full_like(q_next, cfg.gamma)
            y = batch[Columns.REWARDS] + discounts * q_next * (1.0 - batch[
                Columns.TERMINATEDS].float())
        td = q_sel - y
        weights = batch.get("weights")
        if cfg.td_error_loss_fn == "huber":
            per = F.smooth_l1_loss(q_sel, y, reduction="none")
        else:
            per = 0.5 * td.pow(2)
        loss = (per * weights).mean() if weights is not None else per.mean()
        self._td[module_id] = td.detach().numpy().copy()
        self.log(module_id, qf_loss=loss, qf_mean=q_sel.mean(),
                 td_error_mean=td.abs().mean())
        return loss

    def update(self, batches: dict, **kwargs: Any) -> dict:
        self._td = {}
        out = super().update(batches, **kwargs)
        for mid, td in self._td.items():
            out.setdefault(mid, {})[TD_ERROR_KEY] = td
        return out

    def after_gradient_based_update(self, timesteps: int) -> None:
        cfg = self.config
        if timesteps - self._last_target_update >= cfg.target_network_update_freq:
            for mid, target in self.target_modules.items():
                polyak_update(target, self.module[mid], cfg.tau)
            self._last_target_update = timesteps

    def get_extra_state(self) -> dict[str, Any]:
        return {"target": {m: t.state_dict() for m, t in self.target_modules.items()},
                "last_target_update": self._last_target_update}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        for mid, sd in state.get("target", {}).items():
            if mid in self.target_modules:
                self.target_modules[mid].load_state_dict(sd)
        self._last_target_update = state.get("last_target_update", 0)
