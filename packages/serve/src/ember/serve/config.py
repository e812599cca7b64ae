"""Configuration objects: AutoscalingConfig, HTTPOptions, ProxyLocation, DeploymentMode.

Pydantic models, as in Ray, so a dict from a config file or `.options()` validates into
the same object with the same defaults.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ember.serve._constants import (
    DEFAULT_HTTP_HOST,
    DEFAULT_HTTP_PORT,
    DEFAULT_MAX_REQUEST_BODY_BYTES,
)
from ember.serve.autoscaling_policy import AutoscalingContext, AutoscalingPolicy

__all__ = ["AutoscalingConfig", "AutoscalingContext", "AutoscalingPolicy",
           "DeploymentActorConfig", "DeploymentMode", "HTTPOptions", "ProxyLocation",
           "RequestRouterConfig", "gRPCOptions"]


class AutoscalingConfig(BaseModel):
    """How a deployment scales on its ongoing requests.

    Serve keeps about `target_ongoing_requests` requests on each replica, between
    `min_replicas` and `max_replicas`. A decision to scale up (down) must hold for
    `upscale_delay_s` (`downscale_delay_s`) before it is applied, which smooths bursts.
    `policy` replaces that rule with a custom one (see `AutoscalingPolicy`); the
    factors, bounds and delays still apply to what it asks for.
    """

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(default=1, ge=0)
    initial_replicas: int | None = Field(default=None, ge=0)
    max_replicas: int = Field(default=1, ge=1)
    target_ongoing_requests: float = Field(default=2.0, gt=0)
    metrics_interval_s: float = Field(default=10.0, gt=0)
    look_back_period_s: float = Field(default=30.0, gt=0)
    smoothing_factor: float = Field(default=1.0, gt=0)
    upscale_smoothing_factor: float | None = Field(default=None, gt=0)
    downscale_smoothing_factor: float | None = Field(default=None, gt=0)
    upscaling_factor: float | None = Field(default=None, gt=0)
    downscaling_factor: float | None = Field(default=None, gt=0)
    downscale_delay_s: float = Field(default=600.0, ge=0)
    downscale_to_zero_delay_s: float | None = Field(default=None, ge=0)
    upscale_delay_s: float = Field(default=30.0, ge=0)
    aggregation_function: str = "mean"
    policy: AutoscalingPolicy = Field(default_factory=AutoscalingPolicy)

    @model_validator(mode="after")
    def _check_bounds(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must be <= max_replicas "
                             f"({self.max_replicas}).")
        if self.initial_replicas is not None and not (
                self.min_replicas <= self.initial_replicas <= self.max_replicas):
            raise ValueError("initial_replicas must lie between min_replicas and max_replicas.")
        if self.aggregation_function not in ("mean", "max", "min"):
            raise ValueError("aggregation_function must be 'mean', 'max' or 'min'.")
        return self

    def get_target_ongoing_requests(self) -> float:
        return self.target_ongoing_requests

    def get_upscaling_factor(self) -> float:
        return self.upscaling_factor or self.upscale_smoothing_factor or self.smoothing_factor

    def get_downscaling_factor(self) -> float:
        return (self.downscaling_factor or self.downscale_smoothing_factor
                or self.smoothing_factor)

    @classmethod
    def default(cls) -> AutoscalingConfig:
        """What `num_replicas="auto"` means: 1 to 100 replicas, 2 ongoing requests each."""
        return cls(min_replicas=1, max_replicas=100, target_ongoing_requests=2.0)


class ProxyLocation(StrEnum):
    """Where HTTP proxies run: on the head node only (the default), on every node (each
    listening on `HTTPOptions.host:port` of its node), or nowhere."""

    Disabled = "Disabled"
    HeadOnly = "HeadOnly"
    EveryNode = "EveryNode"


class DeploymentMode(StrEnum):
    """Ray's older name for ProxyLocation."""

    NoServer = "NoServer"
    HeadOnly = "HeadOnly"
    EveryNode = "EveryNode"


class HTTPOptions(BaseModel):
    """The HTTP proxy's settings.

    It listens on 127.0.0.1 unless told otherwise (port 0 picks a free port). A request
    that runs past `request_timeout_s` gets a 408 and is cancelled on its replica. A
    request body over `max_request_body_bytes` is refused with 413 (unread when its
    Content-Length says so up front).
    """

    model_config = ConfigDict(extra="forbid")

    host: str = DEFAULT_HTTP_HOST
    port: int = Field(default=DEFAULT_HTTP_PORT, ge=0, le=65535)
    root_path: str = ""
    request_timeout_s: float | None = Field(default=None, gt=0)
    keep_alive_timeout_s: float = Field(default=5.0, gt=0)
    max_request_body_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BODY_BYTES, gt=0)
    location: str | None = None
    middlewares: list[Any] = Field(default_factory=list)

    @classmethod
    def coerce(cls, value: HTTPOptions | dict | None) -> HTTPOptions:
        if value is None:
            return cls()
        if isinstance(value, HTTPOptions):
            return value
        if isinstance(value, dict):
            return cls(**value)
        raise TypeError(f"http_options must be a dict or HTTPOptions, got {type(value).__name__}.")


class gRPCOptions(BaseModel):
    """The gRPC ingress (Ray's): `grpc_servicer_functions` are import paths of generated
    `add_<Service>Servicer_to_server` functions; each proxy serves their methods on
    `HTTPOptions.host:port` (port 0 picks a free one). Without functions, no gRPC server
    runs. A call names its application in the `application` metadata key."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=9000, ge=0, le=65535)
    grpc_servicer_functions: list[str] = Field(default_factory=list)
    request_timeout_s: float | None = Field(default=None, gt=0)

    @classmethod
    def coerce(cls, value: gRPCOptions | dict | None) -> gRPCOptions:
        if value is None:
            return cls()
        if isinstance(value, gRPCOptions):
            return value
        if isinstance(value, dict):
            return cls(**value)
        raise TypeError(f"grpc_options must be a dict or gRPCOptions, got {type(value).__name__}.")


class DeploymentActorConfig(BaseModel):
    """A deployment-scoped actor: started by the controller before the deployment's
    replicas, shared by all of them (`serve.get_deployment_actor(name)`), stopped when
    the deployment is deleted or Serve shuts down. `actor_class` is an `@ember.remote`
    class, a plain class or its import path; `actor_options` are actor options
    (`num_cpus`, ...)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str
    actor_class: Any
    init_args: tuple = ()
    init_kwargs: dict[str, Any] = Field(default_factory=dict)
    actor_options: dict[str, Any] = Field(default_factory=dict)


class RequestRouterConfig(BaseModel):
    """Which policy routes a deployment's requests (Ray's custom request router option).

    `request_router_class` is a subclass of `ember.serve.request_router.RequestRouter`
    (Ray's API: `async choose_replicas`) or of `ember.serve._router.RequestRouter`, or
    its import path ("package.module:Class"); it is built with `request_router_kwargs`
    in every process that routes to the deployment. Unset, requests go by power of two
    choices. Every `request_routing_stats_period_s` Serve calls each replica's
    `record_routing_stats()` (if the deployment has one) and hands the answer to routers
    as `RunningReplica.routing_stats`. The backoff fields are accepted for Ray's sake:
    a request no replica has room for waits in the handle's queue until one frees up.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    request_router_class: Any = None
    request_router_kwargs: dict[str, Any] = Field(default_factory=dict)
    request_routing_stats_period_s: float = Field(default=10.0, gt=0)
    request_routing_stats_timeout_s: float = Field(default=30.0, gt=0)
    initial_backoff_s: float = Field(default=0.025, gt=0)
    backoff_multiplier: float = Field(default=2.0, gt=0)
    max_backoff_s: float = Field(default=0.5, gt=0)

    def normalized(self) -> dict[str, Any] | None:
        """The config as plain data: the class by its import path (None: the default)."""
        cls = self.request_router_class
        if cls is None:
            return None
        from ember.serve.autoscaling_policy import import_attr, pickle_by_value

        obj = import_attr(cls) if isinstance(cls, str) else cls
        if not isinstance(cls, str):
            cls = f"{cls.__module__}:{cls.__qualname__}"
        elif ":" not in cls:
            module, _, name = cls.rpartition(".")
            cls = f"{module}:{name}"
        return {"request_router_class": cls, "serialized_class": pickle_by_value(obj),
                "request_router_kwargs": dict(self.request_router_kwargs),
                "request_routing_stats_period_s": self.request_routing_stats_period_s,
                "request_routing_stats_timeout_s": self.request_routing_stats_timeout_s}
