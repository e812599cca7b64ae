"""Reinforcement learning with RLlib's API (work in progress)."""
