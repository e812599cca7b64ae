"""IMPALA."""

from ember.rllib.algorithms.impala.impala import IMPALA, IMPALAConfig

__all__ = ["IMPALA", "IMPALAConfig"]
