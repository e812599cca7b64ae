"""BC."""

from ember.rllib.algorithms.bc.bc import BC, BCConfig

__all__ = ["BC", "BCConfig"]
