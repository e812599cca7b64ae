"""A name -> trainable registry, so that Tuner("name") finds a registered trainable."""

from __future__ import annotations

from typing import Any

__all__ = ["get_trainable", "register_trainable"]

_TRAINABLES: dict[str, Any] = {}


def register_trainable(name: str, trainable: Any) -> None:
    """Make `trainable` (a function or Trainable class) available as Tuner(name)."""
    if not isinstance(name, str) or not name:
        raise ValueError("register_trainable needs a non-empty name.")
    if not callable(trainable):
        raise TypeError(f"Cannot register {trainable!r}: it is not a function or class.")
    _TRAINABLES[name] = trainable


def get_trainable(name: str) -> Any:
    try:
        return _TRAINABLES[name]
    except KeyError:
        raise ValueError(f"Unknown trainable {name!r}: register it first with "
                         f"ember.tune.register_trainable({name!r}, trainable). Registered: "
                         f"{sorted(_TRAINABLES)}.") from None
