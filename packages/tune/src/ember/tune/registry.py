"""Name registries: trainables for Tuner("name"), and environment creators for RLlib
configs (`tune.register_env`, as Ray's `ray.tune.registry.register_env`)."""

from __future__ import annotations

from typing import Any

__all__ = ["get_env_creator", "get_trainable", "register_env", "register_trainable"]

_TRAINABLES: dict[str, Any] = {}
_ENVS: dict[str, Any] = {}


def register_env(name: str, env_creator: Any) -> None:
    """Register `env_creator(env_config) -> env` under `name` for RLlib configs."""
    if not isinstance(name, str) or not name:
        raise ValueError("register_env needs a non-empty name.")
    if not callable(env_creator):
        raise TypeError(f"env_creator must be callable, got {env_creator!r}.")
    _ENVS[name] = env_creator


def get_env_creator(name: str) -> Any:
    """The creator registered under `name`; KeyError if none."""
    return _ENVS[name]


def register_trainable(name: str, trainable: Any) -> None:
    """Make `trainable` (a function or Trainable class) available as Tuner(name)."""
    if not isinstance(name, str) or not name:
        raise ValueError("register_trainable needs a non-empty name.")
    if not callable(trainable):
        raise TypeError(f"Cannot register {trainable!r}: it is not a function or class.")
    _TRAINABLES[name] = trainable


def get_trainable(name: str) -> Any:
    if name not in _TRAINABLES:
        try:  # RLlib's algorithms ("PPO", "DQN", …) register themselves when imported
            import importlib

            importlib.import_module("ember.rllib.algorithms")
        except ImportError:
            pass
    try:
        return _TRAINABLES[name]
    except KeyError:
        raise ValueError(f"Unknown trainable {name!r}: register it first with "
                         f"ember.tune.register_trainable({name!r}, trainable). Registered: "
                         f"{sorted(_TRAINABLES)}.") from None
