"""ember.rllib: reinforcement learning with RLlib's API (new API stack) on ember."""
