"""Algorithm names -> classes, registered with Tune so that Tuner("PPO") works."""

from __future__ import annotations

import importlib

__all__ = ["ALGORITHMS", "get_algorithm_class", "register_with_tune"]

ALGORITHMS: dict[str, str] = {
    "APPO": "ember.rllib.algorithms.appo:APPO",
    "BC": "ember.rllib.algorithms.bc:BC",
    "DQN": "ember.rllib.algorithms.dqn:DQN",
    "IMPALA": "ember.rllib.algorithms.impala:IMPALA",
    "MARWIL": "ember.rllib.algorithms.marwil:MARWIL",
    "PPO": "ember.rllib.algorithms.ppo:PPO",
    "SAC": "ember.rllib.algorithms.sac:SAC",
}


def get_algorithm_class(name: str) -> type:
    """The Algorithm class registered under `name` ("PPO", "DQN", ...)."""
    try:
        module, attr = ALGORITHMS[name].split(":")
    except KeyError:
        raise ValueError(f"Unknown algorithm {name!r}; known: {sorted(ALGORITHMS)}.") from None
    return getattr(importlib.import_module(module), attr)


def register_with_tune() -> None:
    """Register every algorithm as a Tune trainable under its name."""
    from ember.tune import register_trainable

    for name in ALGORITHMS:
        register_trainable(name, get_algorithm_class(name))
