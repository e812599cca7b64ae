"""Deploying from Ray's config file format: import each app, apply overrides, deploy all.

The config is declarative: applications running now but absent from it are deleted.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import ember
from ember.serve import api
from ember.serve._build import build_specs
from ember.serve.deployment import Application, Deployment
from ember.serve.schema import ServeApplicationSchema, ServeDeploySchema


def import_attr(path: str) -> Any:
    """`package.module:attribute` (or the last dotted part) -> the object."""
    if ":" in path:
        module, _, attr = path.partition(":")
    else:
        module, _, attr = path.rpartition(".")
    if not module or not attr:
        raise ValueError(f"import_path must look like 'module:attribute', got {path!r}.")
    if (module == "ray" or module.startswith("ray.")) and importlib.util.find_spec("ray") is None:
        module = "ember" + module[3:]  # Ray's config files name ray.serve.llm and the like
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def build_app(schema: ServeApplicationSchema) -> Application:
    """The Application an app entry of the config describes, overrides applied."""
    obj = import_attr(schema.import_path)
    if isinstance(obj, Application):
        if schema.args:
            raise ValueError(f"{schema.import_path} is an Application; `args` can only be "
                             "passed to an application builder function.")
        app = obj
    elif isinstance(obj, Deployment):
        app = obj.bind()
    elif callable(obj):
        app = obj(schema.args)
        if not isinstance(app, Application):
            raise TypeError(f"The application builder {schema.import_path} returned "
                            f"{type(app).__name__}, not an Application.")
    else:
        raise TypeError(f"{schema.import_path} is neither an Application, a Deployment nor "
                        "an application builder.")
    overrides = {d.name: d.overrides() for d in schema.deployments}
    if schema.runtime_env:
        overrides = _with_runtime_env(app, overrides, schema.runtime_env)
    return with_overrides(app, overrides)


def _with_runtime_env(app: Application, overrides: dict, env: dict) -> dict:
    out = {k: dict(v) for k, v in overrides.items()}
    for node in _nodes(app):
        name = node.deployment.name
        o = out.setdefault(name, {})
        opts = dict(o.get("ray_actor_options") or node.deployment.ray_actor_options or {})
        opts["runtime_env"] = {**env, **(opts.get("runtime_env") or {})}
        o["ray_actor_options"] = opts
    return out


def _nodes(app: Application) -> list[Application]:
    seen: dict[int, Application] = {}

    def visit(v: Any) -> None:
        if isinstance(v, Application):
            if id(v) in seen:
                return
            seen[id(v)] = v
            for a in (*v._args, *v._kwargs.values()):
                visit(a)
        elif isinstance(v, list | tuple):
            for a in v:
                visit(a)
        elif isinstance(v, dict):
            for a in v.values():
                visit(a)

    visit(app)
    return list(seen.values())


def with_overrides(app: Application, overrides: dict[str, dict]) -> Application:
    """A copy of the graph with `.options(**overrides[name])` applied by deployment name."""
    names = {n.deployment.name for n in _nodes(app)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"The config names deployments {sorted(unknown)} that the "
                         f"application does not have (it has {sorted(names)}).")
    memo: dict[int, Application] = {}

    def copy(v: Any) -> Any:
        if isinstance(v, Application):
            if id(v) not in memo:
                d = v.deployment
                if d.name in overrides:
                    d = d.options(**overrides[d.name])
                memo[id(v)] = Application(d, copy(v._args), copy(v._kwargs))
            return memo[id(v)]
        if isinstance(v, list):
            return [copy(a) for a in v]
        if type(v) is tuple:
            return tuple(copy(a) for a in v)
        if type(v) is dict:
            return {k: copy(a) for k, a in v.items()}
        return v

    return copy(app)


def _app_policy(schema: ServeApplicationSchema) -> dict | None:
    """The application's autoscaling policy as data, pickled by value here (where its
    module is importable)."""
    if not schema.autoscaling_policy:
        return None
    from ember.serve.autoscaling_policy import AutoscalingPolicy

    return AutoscalingPolicy(**schema.autoscaling_policy).model_dump()


def deploy_config(config: ServeDeploySchema | dict, app_dir: str | None = None,
                  declarative: bool = True) -> None:
    """Deploy every application of `config` and wait until they run.

    Declarative (a config file): applications running now but absent from `config` are
    deleted. Otherwise (`serve run module:app`) other applications are left alone.
    """
    if isinstance(config, dict):
        config = ServeDeploySchema.model_validate(config)
    if app_dir and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    http = config.http_options.model_dump()
    if config.proxy_location == "Disabled":
        http["location"] = "Disabled"
    controller = api._controller_or_none() or api._start(http, None)
    from ember.serve._logging import with_app_default

    built = [(a, *build_specs(build_app(a), a.name)) for a in config.applications]
    for a, specs, _ in built:
        with_app_default(specs, a.logging_config)
    wanted = {a.name for a in config.applications}
    for name in list(api.status().applications) if declarative else []:
        if name not in wanted:
            api.delete(name)
    generations = [(a.name, ember.get(controller.deploy_application.remote(
        a.name, a.route_prefix, specs, ingress, _app_policy(a))))
        for a, specs, ingress in built]
    failures = []
    for name, gen in generations:
        result = ember.get(controller.wait_for_application.remote(name, gen, None))
        if result["status"] == "DEPLOY_FAILED":
            failures.append(f"{name}: {result['message']}")
    if failures:
        raise RuntimeError("Deploying the config failed: " + "; ".join(failures))
