"""Placeholder, replaced below."""
MultiAgentEnvRunner = None
