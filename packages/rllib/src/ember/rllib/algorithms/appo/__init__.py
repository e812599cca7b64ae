"""APPO."""

from ember.rllib.algorithms.appo.appo import APPO, APPOConfig

__all__ = ["APPO", "APPOConfig"]
