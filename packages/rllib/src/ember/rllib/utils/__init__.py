"""Utilities: the env registry, schedules, replay buffers, metrics."""

from ember.rllib.utils.registry import register_env

__all__ = ["register_env"]
