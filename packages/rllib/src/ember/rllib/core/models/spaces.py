"""Flat tensor views of observation and action spaces for the default networks."""

from __future__ import annotations

import math

import gymnasium as gym
import torch
import torch.nn.functional as F

__all__ = ["action_dim", "flat_obs", "obs_dim"]


def obs_dim(space: gym.Space) -> int:
    """Input width of a default network for `space` (Box flattened, Discrete one-hot)."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gym.spaces.Box):
        return int(math.prod(space.shape))
    raise NotImplementedError(f"The default models take Box or Discrete observations, not "
                              f"{space}; write a custom RLModule for it.")


def flat_obs(space: gym.Space, obs: torch.Tensor) -> torch.Tensor:
    """`obs` as float [B, obs_dim]."""
    if isinstance(space, gym.spaces.Discrete):
        return F.one_hot(obs.long().reshape(-1), int(space.n)).float()
    obs = obs.float()
    return obs.reshape(obs.shape[0], -1) if obs.dim() != 2 else obs


def action_dim(space: gym.Space) -> int:
    """Number of actions (Discrete) or the flat size of a Box action."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    return int(math.prod(space.shape))
