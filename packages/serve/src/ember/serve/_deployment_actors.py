"""Deployment-scoped actors (Ray's `DeploymentActorConfig`): actors the controller starts
for a deployment before its replicas, shared by them all (`serve.get_deployment_actor`),
and stops when the deployment is deleted or Serve shuts down. The controller checks each
every `HEALTH_PERIOD_S` (its `__ray_ready__`); one whose process died, or that failed
`MAX_FAILED_CHECKS` checks in a row, is stopped and started anew under the same name
(handles to the old one raise RayActorError: get the actor again)."""

from __future__ import annotations

import asyncio
from typing import Any

import ember
from ember.serve._constants import SERVE_NAMESPACE
from ember.serve.autoscaling_policy import import_attr, pickle_by_value, unpickle

__all__ = ["DeploymentActors", "actor_name", "normalize"]

PREFIX = "SERVE_DEPLOYMENT_ACTOR"
HEALTH_PERIOD_S = 1.0
HEALTH_TIMEOUT_S = 10.0
MAX_FAILED_CHECKS = 3


def actor_name(app_name: str, deployment: str, name: str) -> str:
    """The named actor of deployment-scoped actor `name` (in Serve's namespace)."""
    return f"{PREFIX}::{app_name}#{deployment}#{name}"


def normalize(configs: Any) -> list[dict]:
    """`deployment_actors` as plain data: each actor's class and arguments pickled."""
    from ember.serve.config import DeploymentActorConfig

    out, names = [], set()
    for c in configs or []:
        if isinstance(c, dict):
            c = DeploymentActorConfig(**c)
        if not isinstance(c, DeploymentActorConfig):
            raise TypeError("deployment_actors must be a list of DeploymentActorConfig.")
        if c.name in names:
            raise ValueError(f"Duplicate deployment-scoped actor name {c.name!r}.")
        names.add(c.name)
        cls = import_attr(c.actor_class) if isinstance(c.actor_class, str) else c.actor_class
        inner = getattr(cls, "_cls", cls)  # an @ember.remote class: its user class
        out.append({"name": c.name, "actor_options": dict(c.actor_options),
                    "serialized": pickle_by_value(cls, module_of=inner),
                    "args": pickle_by_value((tuple(c.init_args), dict(c.init_kwargs)))})
    return out


class DeploymentActors:
    """One deployment's scoped actors, kept by the controller."""

    def __init__(self, app_name: str, deployment: str) -> None:
        self.app_name = app_name
        self.deployment = deployment
        self.handles: dict[str, Any] = {}
        self.specs: list[dict] = []
        self.ready: asyncio.Task | None = None
        self.checking: asyncio.Task | None = None
        self.next_check = 0.0
        self.failed: dict[str, int] = {}

    def ensure(self, specs: list[dict], spawn: Any) -> None:
        """Start the actors `specs` declares (stopping ones it no longer does)."""
        if specs == self.specs and self.ready is not None:
            return
        keep = {s["name"]: s for s in specs}
        for name in list(self.handles):
            old = next((s for s in self.specs if s["name"] == name), None)
            if keep.get(name) != old:
                self._kill(name)
        self.specs = list(specs)
        self.ready = spawn(self._start_missing())

    async def _start_missing(self) -> None:
        waits = []
        for s in self.specs:
            if s["name"] in self.handles:
                continue
            cls = unpickle(s["serialized"])
            if not hasattr(cls, "options"):  # a plain class (an @ember.remote one keeps
                cls = ember.remote(cls)      # its decorator's options)
            args, kwargs = unpickle(s["args"])
            handle = cls.options(
                name=actor_name(self.app_name, self.deployment, s["name"]),
                namespace=SERVE_NAMESPACE, lifetime="detached", max_restarts=0,
                **s["actor_options"]).remote(*args, **kwargs)
            self.handles[s["name"]] = handle
            waits.append(handle.__ray_ready__.remote())
        if waits:
            await asyncio.gather(*waits, return_exceptions=True)

    def check(self, now: float, spawn: Any) -> None:
        """Start a round of health checks when one is due."""
        if not self.handles or now < self.next_check or self.checking is not None:
            return
        if self.ready is not None and not self.ready.done():
            return
        self.next_check = now + HEALTH_PERIOD_S
        self.checking = spawn(self._check_all())

    async def _check_all(self) -> None:
        try:
            names = list(self.handles)
            results = await asyncio.gather(*[asyncio.wait_for(
                self.handles[n].__ray_ready__.remote(), HEALTH_TIMEOUT_S) for n in names],
                return_exceptions=True)
            restart = False
            for name, result in zip(names, results, strict=True):
                if not isinstance(result, BaseException):
                    self.failed.pop(name, None)
                    continue
                died = isinstance(result, ember.exceptions.RayActorError)
                self.failed[name] = self.failed.get(name, 0) + 1
                if died or self.failed[name] >= MAX_FAILED_CHECKS:
                    self.failed.pop(name, None)
                    self._kill(name)
                    restart = True
            if restart:
                await self._start_missing()
        finally:
            self.checking = None

    async def wait_ready(self) -> None:
        if self.ready is not None:
            await asyncio.shield(self.ready)

    def _kill(self, name: str) -> None:
        handle = self.handles.pop(name, None)
        if handle is not None:
            try:
                ember.kill(handle)
            except Exception:  # noqa: BLE001 - already gone
                pass

    def stop(self) -> None:
        for name in list(self.handles):
            self._kill(name)
        self.specs, self.ready = [], None


def get_deployment_actor(name: str) -> Any:
    """The handle of deployment-scoped actor `name` of the current replica's deployment.

    Raises ValueError when the deployment has no such actor (or it is being replaced).
    """
    from ember.serve.context import get_replica_context

    ctx = get_replica_context()
    try:
        return ember.get_actor(actor_name(ctx.app_name, ctx.deployment, name),
                               namespace=SERVE_NAMESPACE)
    except ValueError:
        raise ValueError(f"Deployment {ctx.deployment!r} of application {ctx.app_name!r} "
                         f"has no deployment-scoped actor {name!r}.") from None
