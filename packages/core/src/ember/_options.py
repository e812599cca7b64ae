"""Task and actor options: validated at the call site, turned into a resource request."""

from __future__ import annotations

import numbers
from typing import Any

from ember import _option_rules
from ember._core.common import serialization
from ember._core.common.specs import ActorSpec, TaskSpec

TASK_OPTIONS = {
    "num_cpus", "num_gpus", "resources", "memory", "accelerator_type", "max_retries",
    "retry_exceptions", "num_returns", "scheduling_strategy", "runtime_env", "name",
    "placement_group", "placement_group_bundle_index", "placement_group_capture_child_tasks",
    "object_store_memory", "_metadata", "label_selector", "enable_task_events",
    "_labels", "concurrency_group", "max_calls", "fallback_strategy",
}
ACTOR_OPTIONS = TASK_OPTIONS - {"num_returns", "max_retries", "retry_exceptions",
                                "concurrency_group", "max_calls"} | {
    "max_restarts", "max_task_retries", "max_concurrency", "concurrency_groups", "namespace",
    "lifetime", "get_if_exists", "max_pending_calls", "allow_out_of_order_execution",
}
METHOD_OPTIONS = {"num_returns", "concurrency_group", "max_task_retries", "retry_exceptions",
                  "name", "enable_task_events", "_generator_backpressure_num_objects"}

DEFAULT_MAX_RETRIES = 3


def check(options: dict, allowed: set[str], what: str) -> None:
    """Refuse unknown option keywords, then values of the wrong type or range (Ray's rules
    and messages)."""
    for key in options:
        if key not in allowed:
            raise ValueError(f"Invalid option keyword {key!r} for {what}. Valid options: "
                             f"{', '.join(sorted(allowed))}.")
    _option_rules.validate(options)


def _number(options: dict, key: str, integer: bool = False) -> float | None:
    v = options.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{key} must be a number, got {v!r}.")
    x = float(v)
    if x < 0:
        raise ValueError(f"{key} must be >= 0, got {v}.")
    if integer and not x.is_integer():
        raise ValueError(f"{key} must be an integer, got {v}.")
    if key == "num_gpus" and x > 1 and not x.is_integer():
        raise ValueError(f"num_gpus above 1 must be a whole number, got {v}.")
    return x


def count(options: dict, key: str, default: int) -> int:
    """An integer retry/restart count: >= 0, or -1 for without limit (Ray's meaning)."""
    v = options.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"The type of keyword '{key}' must be (<class 'int'>, <class "
                        f"'NoneType'>), but received type {type(v)}: {key}={v!r} (an integer, "
                        "-1 for unlimited).")
    if v < -1:
        raise ValueError(f"{key} must be >= -1 (-1 for unlimited), got {v}.")
    return int(v)


def max_calls(options: dict) -> int:
    """How many tasks of a function one worker runs before it is replaced (0: no limit)."""
    v = options.get("max_calls")
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"The type of keyword 'max_calls' must be (<class 'int'>, <class "
                        f"'NoneType'>), but received type {type(v)}: max_calls={v!r}.")
    if v < 0:
        raise ValueError(f"The keyword 'max_calls' only accepts None, 0 or a positive "
                         f"integer, got {v}.")
    return int(v)


def timeout(value: Any, what: str = "timeout") -> float | None:
    """A timeout in seconds: None (wait forever) or a number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number of seconds or None, got {value!r}.")
    if value < 0:
        raise ValueError(f"{what} must be >= 0 or None, got {value}.")
    return float(value)


def text(options: dict, key: str) -> str | None:
    """An optional string option (name, namespace, …)."""
    v = options.get(key)
    if v is not None and not isinstance(v, str):
        raise TypeError(f"{key} must be a string, got {type(v).__name__} {v!r}.")
    return v


def flag(options: dict, key: str, default: bool = False) -> bool:
    """An optional boolean option."""
    v = options.get(key, default)
    if not isinstance(v, bool):
        raise TypeError(f"{key} must be True or False, got {v!r}.")
    return v


def resources(options: dict, default_cpus: float) -> dict[str, float]:
    """The resource request described by num_cpus/num_gpus/memory/resources/…"""
    out: dict[str, float] = {}
    cpus = _number(options, "num_cpus")
    out["CPU"] = default_cpus if cpus is None else cpus
    gpus = _number(options, "num_gpus")
    if gpus:
        out["GPU"] = gpus
    mem = _number(options, "memory")
    if mem:
        out["memory"] = mem
    custom = options.get("resources") or {}
    if not isinstance(custom, dict):
        raise TypeError(f"resources must be a dict, got {type(custom).__name__}.")
    for name, amount in custom.items():
        if name in ("CPU", "GPU"):
            raise ValueError(f"Use the num_cpus and num_gpus options instead of "
                             f"resources={{{name!r}: ...}}.")
        if name == "bundle":
            raise ValueError("The resource should not include `bundle` which is reserved "
                             f"for placement groups. resources: {custom}")
        if not isinstance(name, str):
            raise TypeError(f"Resource names must be strings, got {name!r}.")
        if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or amount < 0:
            raise ValueError(f"Resource {name!r} must be a number >= 0, got {amount!r}.")
        if amount:
            out[name] = float(amount)
    acc = options.get("accelerator_type")
    if acc:
        out[f"accelerator_type:{acc}"] = 0.001
    return {k: v for k, v in out.items() if v > 0}


def placement(options: dict) -> tuple[tuple | None, tuple | None, str]:
    """(pg, affinity, strategy) from scheduling_strategy and the legacy pg options."""
    from ember.util.placement_group import PlacementGroup
    from ember.util.scheduling_strategies import (
        NodeAffinitySchedulingStrategy,
        PlacementGroupSchedulingStrategy,
    )

    s = options.get("scheduling_strategy")
    pg = options.get("placement_group")
    if pg in (None, "default") and not isinstance(s, PlacementGroupSchedulingStrategy) and \
            options.get("placement_group_bundle_index", -1) != -1:
        raise ValueError("If placement_group is not set, the value of bundle index must be "
                         "-1 (any bundle).")
    if isinstance(s, PlacementGroupSchedulingStrategy):
        if s.placement_group is None:  # explicitly outside any group (see pg_opt_out)
            return None, None, "DEFAULT"
        return (s.placement_group.id.hex(), s.placement_group_bundle_index), None, "PG"
    if isinstance(pg, PlacementGroup):
        return (pg.id.hex(), options.get("placement_group_bundle_index", -1)), None, "PG"
    if isinstance(s, NodeAffinitySchedulingStrategy):
        return None, (s.node_id, bool(s.soft)), "NODE_AFFINITY"
    if s is None or s in ("DEFAULT", "SPREAD"):
        return None, None, s or "DEFAULT"
    raise ValueError(f"Invalid scheduling_strategy {s!r}: use 'DEFAULT', 'SPREAD', a "
                     "PlacementGroupSchedulingStrategy or a NodeAffinitySchedulingStrategy.")


def pg_opt_out(options: dict) -> bool:
    """Whether `placement_group=None` was given explicitly (or a
    PlacementGroupSchedulingStrategy of no group): it keeps work out of a capturing
    parent's group (Ray's meaning)."""
    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    s = options.get("scheduling_strategy")
    if ("placement_group" in options and options["placement_group"] is None) or (
            isinstance(s, PlacementGroupSchedulingStrategy) and s.placement_group is None):
        return True
    return False


def dynamic(options: dict) -> bool:
    """Whether the options ask for `num_returns="dynamic"`."""
    return options.get("num_returns") == "dynamic"


def labels(options: dict) -> list | None:
    """The label selectors to try in order; None when the options select no labels."""
    from ember import _labels

    return _labels.selectors(options)


def capture_child_tasks(options: dict) -> bool:
    """Whether tasks started inside this placement group stay in it by default."""
    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    s = options.get("scheduling_strategy")
    if isinstance(s, PlacementGroupSchedulingStrategy):
        return bool(s.placement_group_capture_child_tasks)
    return bool(options.get("placement_group_capture_child_tasks"))


def inherit_placement(spec: TaskSpec | ActorSpec, ctx: dict) -> None:
    """A task or actor with no placement of its own, started by work running in a placement
    group that captures child tasks, goes into the same group (any bundle)."""
    if spec.pg is None and spec.strategy == "DEFAULT" and ctx.get("pg") \
            and ctx.get("pg_capture") and not spec.pg_opt_out:
        spec.pg = (ctx["pg"][0], -1)
        spec.pg_capture = True
        spec.strategy = "PG"


def num_returns(options: dict) -> int:
    """How many ObjectRefs a call returns (STREAMING for a streaming generator; 1 for
    `"dynamic"`, whose one ref resolves to a DynamicObjectRefGenerator)."""
    from ember._core.common.constants import STREAMING

    n = options.get("num_returns", 1)
    if n == "streaming":
        return STREAMING
    if n == "dynamic":
        return 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"num_returns must be an int >= 0 or 'streaming', got {n!r}.")
    return n


def retry_exceptions(options: dict) -> Any:
    r = options.get("retry_exceptions", False)
    if r is True or r is False:
        return r
    if isinstance(r, list | tuple) and all(isinstance(c, type) and issubclass(c, BaseException)
                                           for c in r):
        return serialization.dumps_function(list(r))
    raise TypeError("retry_exceptions must be a bool or a list of exception classes.")


def runtime_env(options: dict, inherited: dict | None) -> dict | None:
    env = options.get("runtime_env")
    if env is None:
        return inherited
    from ember._core.common import runtime_env as renv

    return renv.validate(env)
