"""SACTorchLearner: twin-Q critic, entropy-regularized actor, learned temperature."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from ember.rllib.algorithms.dqn.dqn_learner import TD_ERROR_KEY, polyak_update
from ember.rllib.core.columns import Columns
from ember.rllib.core.learner.learner import TorchLearner

__all__ = ["SACTorchLearner"]


class SACTorchLearner(TorchLearner):
    """One update = a critic step, an actor step and a temperature step."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._log_alpha: dict[str, torch.Tensor] = {}
        super().__init__(*args, **kwargs)
        self.target_modules = {mid: copy.deepcopy(self.module[mid]).requires_grad_(False)
                               for mid in self.module.keys()}
        self._td: dict[str, Any] = {}

    def configure_optimizers_for_module(self, module_id: str) -> None:
        c = self.config
        m = self.module[module_id]
        self.register_optimizer(module_id, "qf", m.q_parameters(), c.critic_lr)
        self.register_optimizer(module_id, "policy", m.policy_parameters(), c.actor_lr)
        log_alpha = torch.tensor(math.log(c.initial_alpha), requires_grad=True)
        self._log_alpha[module_id] = log_alpha
        self.register_optimizer(module_id, "alpha", [log_alpha], c.alpha_lr)

    def _target_entropy(self, module_id: str) -> float:
        t = self.config.target_entropy
        if t is None or t == "auto":
            return -float(math.prod(self.module[module_id].action_space.shape))
        return float(t)

    def _step_module(self, mid: str, batch: dict[str, Any]) -> None:
        c = self.config
        m, target = self.module[mid], self.target_modules[mid]
        alpha = self._log_alpha[mid].exp().detach()
        obs, nobs, act = batch[Columns.OBS], batch[Columns.NEXT_OBS], batch[Columns.ACTIONS]
        # critic
        with torch.no_grad():
            a2, logp2 = m.policy_dist(nobs).rsample_with_logp()
            q_next = target.q_values(nobs, a2)
            if m.twin_q:
                q_next = torch.min(q_next, target.q_values(nobs, a2, twin=True))
            disc = batch.get(Columns.DISCOUNTS, torch.full_like(q_next, c.gamma))
            y = batch[Columns.REWARDS] + disc * (1.0 - batch[Columns.TERMINATEDS].float()) * \
                (q_next - alpha * logp2)
        w = batch.get("weights", torch.ones_like(y))
        q1 = m.q_values(obs, act)
        td = q1 - y
        qf_loss = 0.5 * (w * td.pow(2)).mean()
        if m.twin_q:
            qf_loss = qf_loss + 0.5 * (w * (m.q_values(obs, act, twin=True) - y).pow(2)).mean()
        self._backward_step(mid, "qf", qf_loss)
        # actor
        a, logp = m.policy_dist(obs).rsample_with_logp()
        q_pi = m.q_values(obs, a)
        if m.twin_q:
            q_pi = torch.min(q_pi, m.q_values(obs, a, twin=True))
        pi_loss = (alpha * logp - q_pi).mean()
        self._backward_step(mid, "policy", pi_loss)
        # temperature
        alpha_loss = -(self._log_alpha[mid] * (logp.detach() + self._target_entropy(mid))).mean()
        self._backward_step(mid, "alpha", alpha_loss)
        polyak_update(target, m, c.tau)
        self._td[mid] = td.detach().numpy().copy()
        self.log(mid, qf_loss=qf_loss, policy_loss=pi_loss, alpha_loss=alpha_loss,
                 alpha_value=alpha, qf_mean=q1.mean(), log_pi_mean=logp.mean())

    def _backward_step(self, mid: str, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizer(mid, name)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        self.apply_gradients(mid, opt)

    def update(self, batches: dict, **kwargs: Any) -> dict:
        self._td = {}
        out = super().update(batches, **kwargs)
        for mid, td in self._td.items():
            out.setdefault(mid, {})[TD_ERROR_KEY] = td
        return out

    def get_extra_state(self) -> dict[str, Any]:
        return {"target": {m: t.state_dict() for m, t in self.target_modules.items()},
                "log_alpha": {m: float(a) for m, a in self._log_alpha.items()}}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        for mid, sd in state.get("target", {}).items():
            if mid in self.target_modules:
                self.target_modules[mid].load_state_dict(sd)
        with torch.no_grad():
            for mid, v in state.get("log_alpha", {}).items():
                if mid in self._log_alpha:
                    self._log_alpha[mid].fill_(v)
