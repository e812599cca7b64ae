"""Serve's config file (Ray's format) and the objects serve.status() returns.

    proxy_location: HeadOnly
    http_options: {host: 127.0.0.1, port: 8000}
    applications:
      - name: app1
        route_prefix: /
        import_path: my_module:app
        args: {}
        deployments:
          - name: Model
            num_replicas: 2
            user_config: {threshold: 0.5}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ember.serve.config import HTTPOptions

__all__ = [
    "ApplicationStatus", "ApplicationStatusOverview", "DeploymentSchema", "DeploymentStatus",
    "DeploymentStatusOverview", "DeploymentStatusTrigger", "ProxyStatus", "ReplicaRank",
    "ServeApplicationSchema", "ServeDeploySchema", "ServeStatus",
]


class ApplicationStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    DEPLOYING = "DEPLOYING"
    DEPLOY_FAILED = "DEPLOY_FAILED"
    RUNNING = "RUNNING"
    UNHEALTHY = "UNHEALTHY"
    DELETING = "DELETING"


class DeploymentStatus(StrEnum):
    UPDATING = "UPDATING"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    DEPLOY_FAILED = "DEPLOY_FAILED"
    UPSCALING = "UPSCALING"
    DOWNSCALING = "DOWNSCALING"


class DeploymentStatusTrigger(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    CONFIG_UPDATE_STARTED = "CONFIG_UPDATE_STARTED"
    CONFIG_UPDATE_COMPLETED = "CONFIG_UPDATE_COMPLETED"
    UPSCALE_COMPLETED = "UPSCALE_COMPLETED"
    DOWNSCALE_COMPLETED = "DOWNSCALE_COMPLETED"
    AUTOSCALING = "AUTOSCALING"
    REPLICA_STARTUP_FAILED = "REPLICA_STARTUP_FAILED"
    HEALTH_CHECK_FAILED = "HEALTH_CHECK_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    DELETING = "DELETING"


class ProxyStatus(StrEnum):
    STARTING = "STARTING"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    DRAINING = "DRAINING"
    DRAINED = "DRAINED"


@dataclass
class DeploymentStatusOverview:
    status: DeploymentStatus
    status_trigger: DeploymentStatusTrigger
    replica_states: dict[str, int]
    message: str = ""


@dataclass
class ApplicationStatusOverview:
    status: ApplicationStatus
    message: str
    last_deployed_time_s: float
    deployments: dict[str, DeploymentStatusOverview]


@dataclass
class ServeStatus:
    """What `serve.status()` returns: proxies by node id and applications by name."""

    proxies: dict[str, ProxyStatus] = field(default_factory=dict)
    applications: dict[str, ApplicationStatusOverview] = field(default_factory=dict)
    target_capacity: float | None = None

    @classmethod
    def from_controller(cls, raw: dict) -> ServeStatus:
        apps = {}
        for name, a in raw["applications"].items():
            deps = {d: DeploymentStatusOverview(
                status=DeploymentStatus(v["status"]),
                status_trigger=DeploymentStatusTrigger(v["status_trigger"]),
                replica_states=dict(v["replica_states"]), message=v["message"])
                for d, v in a["deployments"].items()}
            apps[name] = ApplicationStatusOverview(
                status=ApplicationStatus(a["status"]), message=a["message"],
                last_deployed_time_s=a["last_deployed_time_s"], deployments=deps)
        return cls(proxies={k: ProxyStatus(v) for k, v in raw["proxies"].items()},
                   applications=apps)

    def to_dict(self) -> dict:
        """Plain data, in the shape `ember serve status` prints."""
        return {
            "proxies": {k: v.value for k, v in self.proxies.items()},
            "applications": {
                name: {"status": a.status.value, "message": a.message,
                       "last_deployed_time_s": a.last_deployed_time_s,
                       "deployments": {d: {"status": s.status.value,
                                           "status_trigger": s.status_trigger.value,
                                           "replica_states": s.replica_states,
                                           "message": s.message}
                                       for d, s in a.deployments.items()}}
                for name, a in self.applications.items()},
            "target_capacity": self.target_capacity,
        }


class ReplicaRank(BaseModel):
    """A replica's place in its deployment (`serve.get_replica_context().rank`): `rank`
    is 0..N-1 across the deployment, `node_rank` numbers the nodes its replicas run
    on, `local_rank` the replicas on one node. A replacement for a crashed replica takes
    its rank; after a downscale the ranks are made contiguous again."""

    rank: int = Field(description="Global rank of the replica in its deployment.")
    node_rank: int = Field(description="Rank of the replica's node in the deployment.")
    local_rank: int = Field(description="Rank of the replica among those on its node.")


# -- the config file ----------------------------------------------------------------------


class LoggingConfig(BaseModel):
    """How a deployment's replicas log on the "ray.serve" logger (Ray's LoggingConfig):
    `encoding` TEXT or JSON, `log_level`, `logs_dir` (a file per replica there as well as
    stderr), `additional_log_standard_attrs` (LogRecord attributes added to JSON lines).
    `enable_access_log` is accepted for Ray's sake: ember's replicas write no per-request
    access lines to turn off."""

    model_config = ConfigDict(extra="forbid")

    encoding: str = "TEXT"
    log_level: int | str = "INFO"
    logs_dir: str | None = None
    enable_access_log: bool = True
    additional_log_standard_attrs: list[str] = Field(default_factory=list)

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        if str(v).upper() not in ("TEXT", "JSON"):
            raise ValueError(f"Got '{v}' for encoding. Encoding must be one of TEXT, JSON.")
        return str(v).upper()

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: int | str) -> int | str:
        import logging

        if isinstance(v, str) and v.upper() not in logging.getLevelNamesMapping():
            raise ValueError(f'Got "{v}" for log_level. log_level must be one of '
                             f"{list(logging.getLevelNamesMapping())}.")
        return v.upper() if isinstance(v, str) else v


class DeploymentSchema(BaseModel):
    """Overrides for one deployment of an application, by name."""

    model_config = ConfigDict(extra="forbid")

    name: str
    num_replicas: int | str | None = None
    max_ongoing_requests: int | None = None
    max_queued_requests: int | None = None
    user_config: Any = None
    autoscaling_config: dict | None = None
    graceful_shutdown_wait_loop_s: float | None = None
    graceful_shutdown_timeout_s: float | None = None
    health_check_period_s: float | None = None
    health_check_timeout_s: float | None = None
    ray_actor_options: dict | None = None
    logging_config: dict | None = None
    placement_group_bundles: list | None = None
    placement_group_strategy: str | None = None
    max_replicas_per_node: int | None = None

    def overrides(self) -> dict[str, Any]:
        """The options this entry sets (what `Deployment.options()` receives)."""
        return {k: v for k, v in self.model_dump(exclude={"name"}, exclude_unset=True).items()
                if v is not None or k == "user_config"}


class ServeApplicationSchema(BaseModel):
    """One application of the config file: what to import and how to deploy it."""

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    route_prefix: str | None = "/"
    import_path: str
    runtime_env: dict = Field(default_factory=dict)
    args: dict = Field(default_factory=dict)
    deployments: list[DeploymentSchema] = Field(default_factory=list)
    logging_config: dict | None = None
    external_scaler_enabled: bool = False
    # An application-level autoscaling policy (`AutoscalingPolicy` fields).
    autoscaling_policy: dict | None = None

    @field_validator("route_prefix")
    @classmethod
    def _prefix(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError(f"route_prefix must start with '/', got {v!r}.")
        return v

    @field_validator("import_path")
    @classmethod
    def _import_path(cls, v: str) -> str:
        if ":" not in v and "." not in v:
            raise ValueError(f"import_path must look like 'module:attribute', got {v!r}.")
        return v


class ServeDeploySchema(BaseModel):
    """The whole file: proxy settings and the applications to run (all of them)."""

    model_config = ConfigDict(extra="forbid")

    proxy_location: str = "EveryNode"
    http_options: HTTPOptions = Field(default_factory=HTTPOptions)
    grpc_options: dict | None = None
    logging_config: dict | None = None
    target_capacity: float | None = None
    applications: list[ServeApplicationSchema] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ServeDeploySchema:
        names = [a.name for a in self.applications]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"Application names must be unique; repeated: {sorted(dup)}.")
        prefixes = [a.route_prefix for a in self.applications if a.route_prefix is not None]
        dup = {p for p in prefixes if prefixes.count(p) > 1}
        if dup:
            raise ValueError(f"Route prefixes must be unique; repeated: {sorted(dup)}.")
        return self
