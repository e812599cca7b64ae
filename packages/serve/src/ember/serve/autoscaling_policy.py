"""Custom autoscaling policies (Ray's `AutoscalingPolicy` and `AutoscalingContext`).

A deployment's `autoscaling_config.policy` names a function (or a class, built once with
`policy_kwargs`, whose instances are called) that the controller calls on every
autoscaling tick with an `AutoscalingContext`; it returns `(replicas, policy_state)`.
Serve applies the config's scaling factors, `min_replicas`/`max_replicas` and the
up/downscale delays on top, and hands `policy_state` back in the next context. The
policy runs on the controller's event loop (a class may start asyncio tasks there).
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cloudpickle
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ember.serve._ids import DeploymentID, ReplicaID

__all__ = ["DEFAULT_POLICY", "AutoscalingContext", "AutoscalingPolicy",
           "TimeStampedValue", "import_attr", "pickle_by_value",
           "replica_queue_length_autoscaling_policy", "unpickle"]

DEFAULT_POLICY = "ember.serve.autoscaling_policy:replica_queue_length_autoscaling_policy"


def import_attr(path: str) -> Any:
    """The object at "package.module:attr" (or "package.module.attr")."""
    if ":" in path:
        module, _, name = path.partition(":")
    else:
        module, _, name = path.rpartition(".")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def pickle_by_value(obj: Any, module_of: Any = None) -> str:
    """`obj` cloudpickled with its module (or `module_of`'s) by value (base64), so that
    another process needs no access to that module; ember's own objects go by
    reference."""
    name = getattr(module_of if module_of is not None else obj, "__module__", "") or ""
    by_value = name not in ("", "__main__") and not name.startswith("ember.")
    module = importlib.import_module(name) if by_value else None
    if module is not None:
        cloudpickle.register_pickle_by_value(module)
    try:
        blob = cloudpickle.dumps(obj)
    finally:
        if module is not None:
            cloudpickle.unregister_pickle_by_value(module)
    return base64.b64encode(blob).decode()


def unpickle(blob: str) -> Any:
    return cloudpickle.loads(base64.b64decode(blob))


@dataclass(frozen=True)
class TimeStampedValue:
    """One sample of a custom metric (`raw_metrics`)."""

    timestamp: float
    value: float


@dataclass
class AutoscalingContext:
    """What a custom policy sees of its deployment on one autoscaling tick.

    `total_num_requests` counts ongoing requests on the replicas plus requests queued in
    handles; `aggregated_metrics` holds each custom metric (from the replicas'
    `record_autoscaling_stats()`) per replica, averaged over `look_back_period_s`, and
    `raw_metrics` the samples themselves. `policy_state` is what the policy returned
    last time. Times are seconds since the epoch.
    """

    deployment_id: DeploymentID
    deployment_name: str
    app_name: str | None
    current_num_replicas: int
    target_num_replicas: int
    running_replicas: list[ReplicaID]
    total_num_requests: float
    total_queued_requests: float
    aggregated_metrics: dict[str, dict[ReplicaID, float]]
    raw_metrics: dict[str, dict[ReplicaID, list[TimeStampedValue]]]
    capacity_adjusted_min_replicas: int
    capacity_adjusted_max_replicas: int
    policy_state: dict[str, Any] = field(default_factory=dict)
    last_scale_up_time: float | None = None
    last_scale_down_time: float | None = None
    current_time: float | None = None
    config: Any = None
    total_pending_async_requests: int = 0

    @property
    def total_running_requests(self) -> float:
        return self.total_num_requests - self.total_queued_requests


class AutoscalingPolicy(BaseModel):
    """Which function decides a deployment's replica count (`AutoscalingConfig.policy`).

    `policy_function` is a callable or its import path ("module:name"); a class is
    built with `policy_kwargs` (JSON values) and its instance called. The function is
    pickled by value where it is declared, so the controller needs no access to its
    module.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    policy_function: str | Callable = DEFAULT_POLICY
    policy_kwargs: dict[str, Any] = Field(default_factory=dict)
    serialized_policy_def: str = Field(default="", repr=False)

    @model_validator(mode="after")
    def _serialize(self) -> AutoscalingPolicy:
        fn = self.policy_function
        if not isinstance(fn, str):
            path = f"{fn.__module__}:{fn.__qualname__}"
        else:
            path = fn
        if not self.serialized_policy_def and path != DEFAULT_POLICY:
            obj = import_attr(path) if isinstance(fn, str) else fn
            object.__setattr__(self, "serialized_policy_def", pickle_by_value(obj))
        object.__setattr__(self, "policy_function", path)
        return self

    def is_default_policy_function(self) -> bool:
        return self.policy_function == DEFAULT_POLICY

    def get_policy(self) -> Callable[[AutoscalingContext], tuple[Any, dict]]:
        """The policy to call: the function, or an instance of the class."""
        if self.is_default_policy_function():
            return replica_queue_length_autoscaling_policy
        obj = unpickle(self.serialized_policy_def)
        if isinstance(obj, type):
            obj = obj(**self.policy_kwargs)
        return obj


def replica_queue_length_autoscaling_policy(ctx: AutoscalingContext) -> tuple[float, dict]:
    """Serve's default policy: about `target_ongoing_requests` per replica."""
    from ember.serve._autoscaling import desired_replicas

    return desired_replicas(ctx.config, ctx.total_num_requests,
                            ctx.current_num_replicas), {}
