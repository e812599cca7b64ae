"""register_env: make an env creator available to configs by name.

`register_env("my_env", lambda env_config: MyEnv(env_config))` then
`config.environment("my_env")`. Names not registered here are looked up in ember.tune's
registry (when it has `register_env`), then as gymnasium ids (`"CartPole-v1"`). The creator is resolved in the driver and shipped to env runner actors
with the config, so registration in the driver is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

__all__ = ["get_env_creator", "register_env", "registered_envs"]

_ENVS: dict[str, Callable[[Any], Any]] = {}


def register_env(name: str, env_creator: Callable[[Any], Any]) -> None:
    """Register `env_creator(env_config) -> env` under `name`."""
    if not isinstance(name, str) or not name:
        raise ValueError("register_env needs a non-empty name.")
    if not callable(env_creator):
        raise TypeError(f"env_creator must be callable, got {env_creator!r}.")
    _ENVS[name] = env_creator


def registered_envs() -> dict[str, Callable[[Any], Any]]:
    """A copy of the registry (name -> creator)."""
    return dict(_ENVS)


def get_env_creator(env: Any) -> Callable[[Any], Any]:
    """A creator `f(env_config) -> env` for a registered name, gymnasium id or env class."""
    if env is None:
        raise ValueError("No environment set: call config.environment(env=...) with a "
                         "gymnasium id, a registered name or an env class.")
    if isinstance(env, str):
        if env in _ENVS:
            return _ENVS[env]
        tune_creator = _tune_env_creator(env)
        if tune_creator is not None:
            return tune_creator
        if env in gym.registry:
            return lambda env_config, _id=env: gym.make(_id, **_gym_kwargs(env_config))
        raise ValueError(f"Unknown env {env!r}: not registered with register_env() and not "
                         "a gymnasium id.")
    if isinstance(env, type):
        return lambda env_config, _cls=env: _cls(env_config)
    if callable(env):
        return env
    raise TypeError(f"env must be a name, an env class or a creator function, got {env!r}.")


def _tune_env_creator(name: str) -> Callable[[Any], Any] | None:
    """An env registered with ember.tune.register_env, where ember.tune offers one."""
    try:
        from ember.tune import registry
    except ImportError:
        return None
    lookup = getattr(registry, "get_env_creator", None)
    if lookup is None:
        return None
    try:
        return lookup(name)
    except (KeyError, ValueError):
        return None


def _gym_kwargs(env_config: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(env_config or {}).items()
            if k not in ("worker_index", "vector_index", "num_workers")}
