"""@serve.deployment, Deployment and Application (a deployment bound to its arguments)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ember.serve.config import AutoscalingConfig, RequestRouterConfig

__all__ = ["Application", "Deployment", "deployment"]

_UNSET: Any = object()

# Options that change how replicas behave but never need new replicas.
LIGHTWEIGHT_OPTIONS = (
    "num_replicas", "autoscaling_config", "user_config", "max_ongoing_requests",
    "max_queued_requests", "graceful_shutdown_wait_loop_s", "graceful_shutdown_timeout_s",
    "health_check_period_s", "health_check_timeout_s", "request_router_config",
)

DEFAULTS: dict[str, Any] = {
    "num_replicas": 1,
    "autoscaling_config": None,
    "user_config": None,
    "max_ongoing_requests": 5,
    "max_queued_requests": -1,
    "graceful_shutdown_wait_loop_s": 2.0,
    "graceful_shutdown_timeout_s": 20.0,
    "health_check_period_s": 10.0,
    "health_check_timeout_s": 30.0,
    "ray_actor_options": None,
    "version": None,
    "logging_config": None,
    "placement_group_bundles": None,
    "placement_group_strategy": None,
    "max_replicas_per_node": None,
    "request_router_config": None,
    "deployment_actors": None,
}
_ACTOR_OPTION_KEYS = {"num_cpus", "num_gpus", "resources", "memory", "accelerator_type",
                      "runtime_env", "object_store_memory", "scheduling_strategy"}


def _validate(options: dict[str, Any]) -> dict[str, Any]:
    """Check option values at the call site (Ray's messages) and normalise them."""
    out = dict(options)
    num = out.get("num_replicas", _UNSET)
    auto = out.get("autoscaling_config", _UNSET)
    if num is not _UNSET and num is not None and num != "auto":
        if isinstance(num, bool) or not isinstance(num, int) or num < 0:
            raise ValueError(f"num_replicas must be an int >= 0 or 'auto', got {num!r}.")
        if auto not in (_UNSET, None):
            raise ValueError("Manually setting num_replicas is not allowed when "
                             "autoscaling_config is provided.")
    if auto not in (_UNSET, None):
        if isinstance(auto, AutoscalingConfig):
            auto = auto.model_dump()
        elif not isinstance(auto, dict):
            raise TypeError("autoscaling_config must be a dict or an AutoscalingConfig.")
        base = AutoscalingConfig.default().model_dump() if num == "auto" else {}
        out["autoscaling_config"] = AutoscalingConfig(**{**base, **auto}).model_dump()
    elif num == "auto":
        out["autoscaling_config"] = AutoscalingConfig.default().model_dump()
    if num == "auto":
        out["num_replicas"] = None
    for key in ("max_ongoing_requests",):
        v = out.get(key, _UNSET)
        if v is not _UNSET and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{key} must be an int >= 1, got {v!r}.")
    v = out.get("max_queued_requests", _UNSET)
    if v is not _UNSET and (isinstance(v, bool) or not isinstance(v, int) or v == 0 or v < -1):
        raise ValueError(f"max_queued_requests must be -1 (no limit) or an int >= 1, got {v!r}.")
    for key in ("graceful_shutdown_wait_loop_s", "graceful_shutdown_timeout_s",
                "health_check_period_s", "health_check_timeout_s"):
        v = out.get(key, _UNSET)
        if v is not _UNSET and (isinstance(v, bool) or not isinstance(v, int | float) or v < 0):
            raise ValueError(f"{key} must be a number >= 0, got {v!r}.")
    logging_config = out.get("logging_config", _UNSET)
    if logging_config is not _UNSET:
        from ember.serve._logging import normalize

        out["logging_config"] = normalize(logging_config)
    actors = out.get("deployment_actors", _UNSET)
    if actors not in (_UNSET, None):
        from ember.serve._deployment_actors import normalize

        out["deployment_actors"] = normalize(actors)
    rrc = out.get("request_router_config", _UNSET)
    if rrc not in (_UNSET, None):
        if isinstance(rrc, dict):
            rrc = RequestRouterConfig(**rrc)
        if not isinstance(rrc, RequestRouterConfig):
            raise TypeError("request_router_config must be a dict or a RequestRouterConfig.")
        out["request_router_config"] = rrc.normalized()
    rao = out.get("ray_actor_options", _UNSET)
    if rao not in (_UNSET, None):
        if not isinstance(rao, dict):
            raise TypeError("ray_actor_options must be a dict.")
        bad = set(rao) - _ACTOR_OPTION_KEYS
        if bad:
            raise ValueError(f"Invalid ray_actor_options keys {sorted(bad)}; allowed: "
                             f"{sorted(_ACTOR_OPTION_KEYS)}.")
    if "user_config" in out and out["user_config"] is not None:
        import json

        try:
            json.dumps(out["user_config"])
        except TypeError as e:
            raise ValueError(f"user_config must be JSON-serializable: {e}") from None
    return out


class Deployment:
    """A class or function that Serve runs as a set of replicas.

    Make one with `@serve.deployment`; `.options()` returns a copy with other settings
    and `.bind(*args)` the Application that `serve.run` deploys.
    """

    def __init__(self, func_or_class: Callable | type, name: str,
                 options: dict[str, Any]) -> None:
        self._func_or_class = func_or_class
        self._name = name
        self._options = options  # only what the user set; DEFAULTS fill the rest

    # -- properties (Ray's names) -----------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def func_or_class(self) -> Callable | type:
        return self._func_or_class

    def _get(self, key: str) -> Any:
        return self._options.get(key, DEFAULTS[key])

    @property
    def version(self) -> str | None:
        return self._get("version")

    @property
    def num_replicas(self) -> int | None:
        return self._get("num_replicas")

    @property
    def user_config(self) -> Any:
        return self._get("user_config")

    @property
    def max_ongoing_requests(self) -> int:
        return self._get("max_ongoing_requests")

    @property
    def max_queued_requests(self) -> int:
        return self._get("max_queued_requests")

    @property
    def ray_actor_options(self) -> dict | None:
        return self._get("ray_actor_options")

    @property
    def autoscaling_config(self) -> dict | None:
        return self._get("autoscaling_config")

    @property
    def route_prefix(self) -> str | None:
        return self._options.get("route_prefix")

    # -- building ---------------------------------------------------------------------

    def options(self, *, func_or_class: Callable | type | None = None,
                name: str | None = None, **options: Any) -> Deployment:
        """A copy of this deployment with some settings changed."""
        unknown = set(options) - set(DEFAULTS) - {"route_prefix", "_internal"}
        if unknown:
            raise TypeError(f"Deployment.options() got unexpected options {sorted(unknown)}.")
        checked = _validate(options)
        merged = {**self._options, **checked}
        if "autoscaling_config" in checked and checked.get("autoscaling_config"):
            merged["num_replicas"] = None
        elif checked.get("num_replicas") is not None:
            merged["autoscaling_config"] = None
        return Deployment(func_or_class or self._func_or_class, name or self._name, merged)

    def bind(self, *args: Any, **kwargs: Any) -> Application:
        """Bind constructor (or function) arguments; other Applications become handles."""
        return Application(self, args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Deployments cannot be constructed directly. Use "
                           "`deployment.bind()` and `serve.run()` instead.")

    def __repr__(self) -> str:
        return f"Deployment(name={self._name})"

    def _config(self) -> dict[str, Any]:
        """Every setting, defaults filled in (what the controller receives)."""
        return {key: self._get(key) for key in DEFAULTS}


class Application:
    """A deployment bound to its arguments: the unit `serve.run` deploys.

    Applications passed in the arguments of another `.bind()` are deployed with it and
    reach the replica as DeploymentHandles.
    """

    def __init__(self, deployment: Deployment, args: tuple, kwargs: dict) -> None:
        self._deployment = deployment
        self._args = args
        self._kwargs = kwargs

    @property
    def deployment(self) -> Deployment:
        return self._deployment

    def __repr__(self) -> str:
        return f"Application({self._deployment.name})"


def deployment(_func_or_class: Callable | type | None = None, name: str | None = None,
               version: str | None = _UNSET, num_replicas: int | str | None = _UNSET,
               route_prefix: str | None = _UNSET, ray_actor_options: dict | None = _UNSET,
               placement_group_bundles: Any = _UNSET, placement_group_strategy: Any = _UNSET,
               max_replicas_per_node: int | None = _UNSET, user_config: Any = _UNSET,
               max_ongoing_requests: int = _UNSET, max_queued_requests: int = _UNSET,
               autoscaling_config: dict | AutoscalingConfig | None = _UNSET,
               graceful_shutdown_wait_loop_s: float = _UNSET,
               graceful_shutdown_timeout_s: float = _UNSET,
               health_check_period_s: float = _UNSET, health_check_timeout_s: float = _UNSET,
               logging_config: Any = _UNSET, request_router_config: Any = _UNSET,
               deployment_actors: Any = _UNSET, **unsupported: Any) -> Any:
    """Turn a class or function into a Deployment: `@serve.deployment` or with options.

    A class gets one instance per replica; its `__call__` answers HTTP requests and
    handle calls, other methods are reached by `handle.method.remote()`.
    """
    if unsupported:
        raise TypeError(f"serve.deployment() got unexpected options {sorted(unsupported)}.")
    given = {k: v for k, v in {
        "version": version, "num_replicas": num_replicas, "route_prefix": route_prefix,
        "ray_actor_options": ray_actor_options, "user_config": user_config,
        "placement_group_bundles": placement_group_bundles,
        "placement_group_strategy": placement_group_strategy,
        "max_replicas_per_node": max_replicas_per_node,
        "max_ongoing_requests": max_ongoing_requests,
        "max_queued_requests": max_queued_requests, "autoscaling_config": autoscaling_config,
        "graceful_shutdown_wait_loop_s": graceful_shutdown_wait_loop_s,
        "graceful_shutdown_timeout_s": graceful_shutdown_timeout_s,
        "health_check_period_s": health_check_period_s,
        "health_check_timeout_s": health_check_timeout_s, "logging_config": logging_config,
        "request_router_config": request_router_config,
        "deployment_actors": deployment_actors,
    }.items() if v is not _UNSET}
    options = _validate(given)
    if options.get("autoscaling_config"):
        options["num_replicas"] = None

    def wrap(obj: Callable | type) -> Deployment:
        if not (inspect.isclass(obj) or callable(obj)):
            raise TypeError("@serve.deployment must decorate a class or a function.")
        return Deployment(obj, name or obj.__name__, options)

    if _func_or_class is not None:
        return wrap(_func_or_class)
    return wrap
