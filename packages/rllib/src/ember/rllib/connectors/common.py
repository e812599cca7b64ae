"""Built-in connector pieces: observations to tensors, module outputs to env actions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from ember.rllib.connectors.connector_v2 import ConnectorV2
from ember.rllib.core.columns import Columns

__all__ = ["GetActions", "ObsToTensor", "unsquash_actions"]


class ObsToTensor(ConnectorV2):
    """batch["obs"] (numpy) -> a torch tensor (float32 for float observations)."""

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], **kwargs: Any) -> dict:
        obs = batch[Columns.OBS]
        if isinstance(obs, np.ndarray):
            if obs.dtype == np.float64:
                obs = obs.astype(np.float32)
            batch[Columns.OBS] = torch.from_numpy(obs)
        return batch


class GetActions(ConnectorV2):
    """Module outputs -> numpy actions (and their log-probs and dist inputs).

    Uses outputs["actions"] when the module gives them; otherwise samples (explore) or
    takes the deterministic action of the module's action distribution.
    """

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], explore: bool | None = None,
                 **kwargs: Any) -> dict:
        out: dict[str, Any] = {}
        if Columns.ACTIONS in batch:
            actions = batch[Columns.ACTIONS]
            if Columns.ACTION_LOGP in batch:
                out[Columns.ACTION_LOGP] = _np(batch[Columns.ACTION_LOGP])
        else:
            inputs = batch[Columns.ACTION_DIST_INPUTS]
            if explore:
                dist = rl_module.get_exploration_action_dist_cls().from_logits(inputs)
                actions = dist.sample()
                out[Columns.ACTION_LOGP] = _np(dist.logp(actions))
            else:
                dist = rl_module.get_inference_action_dist_cls().from_logits(inputs)
                actions = dist.deterministic_sample()
            out[Columns.ACTION_DIST_INPUTS] = _np(inputs)
        out[Columns.ACTIONS] = _np(actions)
        return out


def _np(x: Any) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def unsquash_actions(actions: np.ndarray, space: gym.Space, normalize: bool,
                     clip: bool) -> np.ndarray:
    """Actions for the env: Box actions from [-1, 1] to the space's bounds, and/or clipped."""
    if not isinstance(space, gym.spaces.Box):
        return actions
    a = actions
    if normalize and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
        a = space.low + (np.clip(a, -1.0, 1.0) + 1.0) * 0.5 * (space.high - space.low)
    elif clip:
        a = np.clip(a, space.low, space.high)
    return a.astype(space.dtype, copy=False)
