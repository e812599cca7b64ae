"""GeneralAdvantageEstimation: advantages and value targets for each module's batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ember.rllib.connectors.connector_v2 import ConnectorV2
from ember.rllib.core.columns import Columns

__all__ = ["GeneralAdvantageEstimation", "compute_gae"]


def compute_gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
                terminateds: np.ndarray, seg_ends: np.ndarray, gamma: float,
                lambda_: float) -> np.ndarray:
    """GAE over contiguous trajectory pieces; a piece's last row bootstraps from its next
    observation's value unless the episode terminated there."""
    deltas = rewards + gamma * next_values * (1.0 - terminateds) - values
    cont = (gamma * lambda_) * (1.0 - seg_ends.astype(np.float64))
    adv = np.empty(len(rewards), dtype=np.float64)
    last = 0.0
    d, c = deltas.tolist(), cont.tolist()
    for i in range(len(d) - 1, -1, -1):
        last = d[i] + c[i] * last
        adv[i] = last
    return adv


class GeneralAdvantageEstimation(ConnectorV2):
    """Adds ADVANTAGES (standardized) and VALUE_TARGETS to every module's batch."""

    def __init__(self, gamma: float, lambda_: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gamma, self.lambda_ = gamma, lambda_

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], **kwargs: Any) -> dict:
        for mid, b in batch.items():
            module = rl_module[mid]
            with torch.no_grad():
                both = np.concatenate([b[Columns.OBS], b[Columns.NEXT_OBS]])
                obs = torch.from_numpy(both)
                if obs.dtype == torch.float64:
                    obs = obs.float()
                v = module.compute_values({Columns.OBS: obs}).numpy().astype(np.float64)
            n = len(b[Columns.OBS])
            values, next_values = v[:n], v[n:]
            adv = compute_gae(b[Columns.REWARDS].astype(np.float64), values, next_values,
                              b[Columns.TERMINATEDS].astype(np.float64), b[Columns.SEG_ENDS],
                              self.gamma, self.lambda_)
            b[Columns.VALUE_TARGETS] = (adv + values).astype(np.float32)
            b[Columns.VF_PREDS] = values.astype(np.float32)
            b[Columns.ADVANTAGES] = ((adv - adv.mean()) / max(adv.std(), 1e-4)).astype(
                np.float32)
        return batch
