"""SAC."""

from ember.rllib.algorithms.sac.sac import SAC, SACConfig

__all__ = ["SAC", "SACConfig"]
