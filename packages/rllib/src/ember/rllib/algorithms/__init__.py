"""RLlib's algorithms."""
