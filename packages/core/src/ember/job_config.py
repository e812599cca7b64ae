"""JobConfig: a job's settings passed as `ember.init(job_config=...)` (Ray's `ray.job_config`)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JobConfig"]

_LIFETIMES = ("detached", "non_detached")


class JobConfig:
    """A job's configuration: its runtime environment, namespace and metadata.

    `ember.init(job_config=JobConfig(runtime_env=..., ray_namespace=...))` is the same as
    passing `runtime_env=` and `namespace=` to `init` (those arguments win when both are
    given). `code_search_path` is kept for Ray compatibility: ember ships task and actor
    code by value, so workers need no search path to find it. `jvm_options` and
    `default_actor_lifetime` are recorded only (no Java workers; actors default to
    non-detached).
    """

    def __init__(self, jvm_options: list[str] | None = None,
                 code_search_path: list[str] | tuple[str, ...] | None = None,
                 runtime_env: dict | None = None, _client_job: bool = False,
                 metadata: dict | None = None, ray_namespace: str | None = None,
                 default_actor_lifetime: str = "non_detached",
                 _py_driver_sys_path: list[str] | None = None) -> None:
        self.jvm_options = jvm_options or []
        path = code_search_path or []
        if not isinstance(path, list | tuple):
            raise TypeError(f"The type of code search path is incorrect: "
                            f"{type(code_search_path)}")
        self.code_search_path = path
        self._client_job = _client_job
        self.metadata = metadata or {}
        self.ray_namespace = ray_namespace
        self.set_runtime_env(runtime_env)
        self.set_default_actor_lifetime(default_actor_lifetime)
        self._py_driver_sys_path = _py_driver_sys_path or []

    def set_metadata(self, key: str, value: str) -> None:
        """Add (or overwrite) one entry of the metadata dictionary."""
        self.metadata[key] = value

    def set_runtime_env(self, runtime_env: dict | None, validate: bool = False) -> None:
        """Set the job's runtime environment (checked when given to `init`)."""
        if runtime_env is not None and not isinstance(runtime_env, dict):
            raise TypeError(f"runtime_env must be a dict, got {type(runtime_env).__name__}.")
        self.runtime_env = dict(runtime_env) if runtime_env is not None else {}
        if validate:
            from ember._core.common import runtime_env as renv

            renv.validate(self.runtime_env)

    def set_ray_namespace(self, ray_namespace: str) -> None:
        """Set the namespace the job's named actors live in."""
        self.ray_namespace = ray_namespace

    def set_default_actor_lifetime(self, default_actor_lifetime: str) -> None:
        """Record the default actor lifetime: "detached" or "non_detached"."""
        if default_actor_lifetime not in _LIFETIMES:
            raise ValueError("Default actor lifetime must be one of `detached`, "
                             "`non_detached`")
        self.default_actor_lifetime = default_actor_lifetime

    @classmethod
    def from_json(cls, job_config_json: dict | str) -> JobConfig:
        """Build a JobConfig from its JSON form (a dict or a JSON string)."""
        data: dict[str, Any] = (json.loads(job_config_json)
                                if isinstance(job_config_json, str) else job_config_json)
        return cls(jvm_options=data.get("jvm_options"),
                   code_search_path=data.get("code_search_path"),
                   runtime_env=data.get("runtime_env"), metadata=data.get("metadata"),
                   ray_namespace=data.get("ray_namespace"),
                   default_actor_lifetime=data.get("default_actor_lifetime", "non_detached"))

    def __repr__(self) -> str:
        return (f"JobConfig(runtime_env={self.runtime_env!r}, "
                f"ray_namespace={self.ray_namespace!r}, metadata={self.metadata!r})")
