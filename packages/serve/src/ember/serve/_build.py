"""Turning an Application graph into the deployment specs the controller receives.

Every Application reachable through `.bind()` arguments becomes a deployment of the same
app; in the arguments it is replaced by a DeploymentHandle to that deployment. The code
and arguments are pickled here, once, and the pickle's hash is the code version unless
the deployment names one: redeploying identical code is a no-op, and changing only
lightweight options (num_replicas, user_config, ...) updates replicas in place.
"""

from __future__ import annotations

import hashlib
from typing import Any

import cloudpickle

from ember.serve.deployment import Application, Deployment
from ember.serve.handle import DeploymentHandle


def build_specs(app: Application, app_name: str) -> tuple[list[dict], str]:
    """(deployment specs, ingress deployment name) for `app`."""
    if not isinstance(app, Application):
        if isinstance(app, Deployment):
            raise TypeError(f"serve.run() expects an Application: call `.bind()` on "
                            f"deployment {app.name!r} first.")
        raise TypeError(f"serve.run() expects an Application (a bound deployment), got "
                        f"{type(app).__name__}.")
    names: dict[int, str] = {}
    taken: set[str] = set()
    specs: list[dict] = []

    def name_of(node: Application) -> str:
        key = id(node)
        if key in names:
            return names[key]
        base = node.deployment.name
        name, i = base, 1
        while name in taken:
            name = f"{base}_{i}"
            i += 1
        taken.add(name)
        names[key] = name
        return name

    def convert(value: Any) -> Any:
        if isinstance(value, Application):
            return DeploymentHandle(visit(value), app_name)
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, tuple) and type(value) is tuple:
            return tuple(convert(v) for v in value)
        if isinstance(value, dict) and type(value) is dict:
            return {k: convert(v) for k, v in value.items()}
        return value

    def visit(node: Application) -> str:
        if id(node) in names:
            return names[id(node)]
        name = name_of(node)
        args = convert(node._args)
        kwargs = convert(node._kwargs)
        d = node.deployment
        specs.append(_spec(d, name, args, kwargs))
        return name

    ingress = visit(app)
    specs.sort(key=lambda s: s["name"] != ingress)
    return specs, ingress


def _spec(d: Deployment, name: str, args: tuple, kwargs: dict) -> dict:
    config = d._config()
    target = d.func_or_class
    serialized = cloudpickle.dumps((_by_name(target) or target, args, kwargs))
    actor_options = config.pop("ray_actor_options") or {}
    version = config.pop("version")
    if version is None:
        h = hashlib.sha256(serialized)
        h.update(repr(sorted(actor_options.items())).encode())
        version = h.hexdigest()[:16]
    for key in ("placement_group_bundles", "placement_group_strategy",
                "max_replicas_per_node"):
        config.pop(key, None)
    return {"name": name, "serialized": serialized, "version": version, "config": config,
            "ray_actor_options": actor_options, "docs_path": _docs_path(d.func_or_class)}


class DeploymentTarget:
    """A deployment's class or function named by module and attribute.

    `@serve.deployment` replaces the module attribute with a Deployment, so cloudpickle
    would copy the class by value (and its FastAPI app with it). Replicas import the
    module when they can and take the Deployment's class; elsewhere (a node without the
    module) they unpickle the copy by value.
    """

    def __init__(self, module: str, qualname: str, fallback: bytes) -> None:
        self.module = module
        self.qualname = qualname
        self.fallback = fallback  # the class by value, for nodes without the module

    def resolve(self) -> Any:
        import importlib

        try:
            obj: Any = importlib.import_module(self.module)
            for part in self.qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            import pickle

            return pickle.loads(self.fallback)
        return obj.func_or_class if isinstance(obj, Deployment) else obj


def _by_name(target: Any) -> DeploymentTarget | None:
    import sys

    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", "")
    if not module or module == "__main__" or "<locals>" in qualname:
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if isinstance(obj, Deployment) and obj.func_or_class is target:
        from ember.serve._ingress import dumps_by_value

        return DeploymentTarget(module, qualname, dumps_by_value(target))
    return None


def _docs_path(target: Any) -> str | None:
    from ember.serve._ingress import ASGI_ATTR

    app = getattr(target, ASGI_ATTR, None)
    return getattr(app, "docs_url", None) if app is not None else None
