"""Environments and env runners."""

from ember.rllib.env.env_context import EnvContext
from ember.rllib.env.multi_agent_env import MultiAgentEnv

__all__ = ["EnvContext", "MultiAgentEnv"]
