"""Ray's type and value rules for task, actor and method options, with Ray's messages.

Checked where options are declared (`@remote(...)`, `.options(...)`), so a bad value fails
at the decorator as in Ray, before any cluster is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Ray keeps resource quantities in units of 1/10,000.
RESOURCE_UNIT_SCALING = 10_000

_NONE = type(None)


@dataclass(frozen=True)
class Rule:
    """An option's accepted types and a value check returning an error message or None."""

    types: tuple[type, ...]
    value: Callable[[Any], str | None] | None = None


def _counting(name: str, infinite: bool = True) -> Rule:
    if infinite:
        return Rule((int, _NONE), lambda x: None if x is None or x >= -1 else (
            f"The keyword '{name}' only accepts None, 0, -1 or a positive integer, "
            "where -1 represents infinity."))
    return Rule((int, _NONE), lambda x: None if x is None or x >= 0 else (
        f"The keyword '{name}' only accepts None, 0 or a positive integer."))


def resource_error(name: str, quantity: Any) -> str | None:
    """Ray's message for a resource quantity that is negative or finer than 0.0001."""
    if quantity < 0:
        return f"The quantity of resource {name} cannot be negative"
    if isinstance(quantity, float) and quantity != 0.0 and \
            int(quantity * RESOURCE_UNIT_SCALING) == 0:
        return (f"The precision of the fractional quantity of resource {name} "
                "cannot go beyond 0.0001")
    return None


def _resource(name: str) -> Rule:
    return Rule((float, int, _NONE), lambda x: None if x is None else resource_error(name, x))


def _resources(value: dict | None) -> str | None:
    if value is None:
        return None
    if "CPU" in value or "GPU" in value:
        return ("Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
                "'resources' keyword")
    for name, quantity in value.items():
        if isinstance(quantity, int | float):
            error = resource_error(name, quantity)
            if error:
                return error
    return None


def _num_returns(x: Any) -> str | None:
    if x is None or x in ("dynamic", "streaming") or (isinstance(x, int) and x >= 0):
        return None
    return ("Default None. When None is passed, The default value is 1 for a task and actor "
            "task, and 'streaming' for generator tasks and generator actor tasks. The keyword "
            "'num_returns' only accepts None, a non-negative integer, 'streaming' (for "
            "generators), or 'dynamic'. 'dynamic' flag will be deprecated in the future, and "
            "it is recommended to use 'streaming' instead.")


def _lifetime(x: Any) -> str | None:
    if x in (None, "detached", "non_detached"):
        return None
    return "actor `lifetime` argument must be one of 'detached', 'non_detached' and 'None'."


RULES: dict[str, Rule] = {
    "accelerator_type": Rule((str, _NONE)),
    "memory": _resource("memory"),
    "num_cpus": _resource("num_cpus"),
    "num_gpus": _resource("num_gpus"),
    "resources": Rule((dict, _NONE), _resources),
    "runtime_env": Rule((dict, _NONE)),
    "enable_task_events": Rule((bool,)),
    "max_calls": _counting("max_calls", infinite=False),
    "max_retries": _counting("max_retries"),
    "num_returns": Rule((int, str, _NONE), _num_returns),
    "lifetime": Rule((str, _NONE), _lifetime),
    "max_concurrency": _counting("max_concurrency", infinite=False),
    "max_restarts": _counting("max_restarts"),
    "max_task_retries": _counting("max_task_retries"),
    "max_pending_calls": _counting("max_pending_calls"),
    "namespace": Rule((str, _NONE)),
    "get_if_exists": Rule((bool,)),
}


def validate(options: dict) -> None:
    """Raise Ray's TypeError or ValueError (its message, then `key=value`) for the first
    option of a wrong type or value."""
    for key, value in options.items():
        rule = RULES.get(key)
        if rule is None:
            continue
        if not isinstance(value, rule.types):
            types = rule.types[0] if len(rule.types) == 1 else rule.types
            raise TypeError(f"The type of keyword '{key}' must be {types}, but received "
                            f"type {type(value)}: {key}={value!r}.")
        if rule.value is not None:
            error = rule.value(value)
            if error:
                raise ValueError(f"{error.rstrip('.')}: {key}={value!r}.")
