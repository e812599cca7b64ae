"""V-trace (Espeholt et al. 2018): off-policy corrected value targets and advantages."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ember.rllib.connectors.connector_v2 import ConnectorV2
from ember.rllib.core.columns import Columns

__all__ = ["VTrace", "vtrace"]


def vtrace(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
           terminateds: np.ndarray, seg_ends: np.ndarray, log_rhos: np.ndarray,
           gamma: float, clip_rho: float = 1.0, clip_c: float = 1.0,
           clip_pg_rho: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(vs, pg_advantages) over contiguous trajectory pieces (see SampleResult)."""
    rhos = np.exp(log_rhos)
    rho = np.minimum(clip_rho, rhos)
    cs = np.minimum(clip_c, rhos)
    not_term = 1.0 - terminateds
    deltas = rho * (rewards + gamma * next_values * not_term - values)
    cont = gamma * cs * (1.0 - seg_ends.astype(np.float64))
    d, c = deltas.tolist(), cont.tolist()
    acc = 0.0
    vs_minus_v = np.empty(len(d))
    for i in range(len(d) - 1, -1, -1):
        acc = d[i] + c[i] * acc
        vs_minus_v[i] = acc
    vs = values + vs_minus_v
    next_vs = np.where(seg_ends, next_values, np.append(vs[1:], 0.0))
    pg_adv = np.minimum(clip_pg_rho, rhos) * (rewards + gamma * not_term * next_vs - values)
    return vs, pg_adv


class VTrace(ConnectorV2):
    """Adds VALUE_TARGETS (vs) and ADVANTAGES (policy-gradient advantages) per module,
    from the behaviour log-probs recorded by the env runners and the current policy."""

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], **kwargs: Any) -> dict:
        c = self.config
        for mid, b in batch.items():
            module = rl_module[mid]
            n = len(b[Columns.OBS])
            with torch.no_grad():
                obs = torch.from_numpy(np.concatenate([b[Columns.OBS], b[Columns.NEXT_OBS]]))
                obs = obs.float() if obs.dtype == torch.float64 else obs
                v = module.compute_values({Columns.OBS: obs}).numpy().astype(np.float64)
                out = module.forward_train({Columns.OBS: obs[:n]})
                dist = module.get_train_action_dist_cls().from_logits(
                    out[Columns.ACTION_DIST_INPUTS])
                logp = dist.logp(torch.as_tensor(b[Columns.ACTIONS])).numpy()
            log_rhos = (logp - b[Columns.ACTION_LOGP]).astype(np.float64)
            if not c.vtrace:
                log_rhos = np.zeros_like(log_rhos)
            vs, adv = vtrace(b[Columns.REWARDS].astype(np.float64), v[:n], v[n:],
                             b[Columns.TERMINATEDS].astype(np.float64), b[Columns.SEG_ENDS],
                             log_rhos, c.gamma, c.vtrace_clip_rho_threshold, 1.0,
                             c.vtrace_clip_pg_rho_threshold)
            b[Columns.VALUE_TARGETS] = vs.astype(np.float32)
            b[Columns.ADVANTAGES] = adv.astype(np.float32)
        return batch
