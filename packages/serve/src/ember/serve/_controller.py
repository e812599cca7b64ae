"""The Serve controller: a detached, named async actor that owns all Serve state.

It keeps the declared applications, reconciles each deployment into replica actors
(`_deployment_state`), runs the HTTP proxy actor, and publishes routing tables that
every process long-polls (`_long_poll`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ember.serve._constants import CONTROL_LOOP_PERIOD_S
from ember.serve._deployment_state import DeploymentState
from ember.serve._long_poll import LongPollHost
from ember.serve._proxy_fleet import ProxyFleet

ROUTES_KEY = "routes"


class _AppState:
    def __init__(self, name: str) -> None:
        self.name = name
        self.route_prefix: str | None = None
        self.ingress = ""
        self.deployments: list[str] = []
        self.deleting = False
        self.deployed_at = 0.0
        self.status = "DEPLOYING"
        self.message = ""
        self.generation = 0
        self.docs_path: str | None = None
        self.policy: Any = None  # an application-level autoscaling policy (_app_policy)


class ServeController:
    """Created once per cluster by serve.start(); see the module docstring."""

    def __init__(self, http_options: dict | None) -> None:
        self._http_options = http_options
        self._apps: dict[str, _AppState] = {}
        self._deployments: dict[tuple[str, str], DeploymentState] = {}
        self._proxies = ProxyFleet(self.spawn)
        self._loop_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._wake: asyncio.Event | None = None
        self.long_poll: LongPollHost | None = None
        self._routes_sig: Any = None

    # -- plumbing -----------------------------------------------------------------------

    async def start(self) -> dict:
        """Start the control loop (idempotent); returns HTTP settings and proxy address."""
        if self._loop_task is None:
            self.long_poll = LongPollHost()
            self._wake = asyncio.Event()
            self._loop_task = asyncio.get_running_loop().create_task(self._control_loop())
            self._publish_routes()
        return {"http_options": self._http_options,
                "proxy_address": self._proxies.head_address}

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run a coroutine on the controller's loop and keep a reference to it."""
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _control_loop(self) -> None:
        while True:
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - keep reconciling whatever happens
                import traceback

                traceback.print_exc()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), CONTROL_LOOP_PERIOD_S)
            except TimeoutError:
                pass

    def _tick(self) -> None:
        now = time.monotonic()
        for app in self._apps.values():
            if app.policy is not None and not app.deleting:
                app.policy.tick([ds for d in app.deployments
                                 if (ds := self._deployments.get((app.name, d)))], now)
        for key, ds in list(self._deployments.items()):
            ds.tick(now)
            if ds.gone():
                ds.publish_if_changed()
                del self._deployments[key]
        for name, app in list(self._apps.items()):
            if app.deleting and not any(k[0] == name for k in self._deployments):
                del self._apps[name]
                continue
            self._update_app_status(app)
        self._publish_routes()
        self._proxies.tick(now)

    # -- applications -------------------------------------------------------------------

    async def deploy_application(self, name: str, route_prefix: str | None,
                                 specs: list[dict], ingress: str,
                                 autoscaling_policy: dict | None = None) -> int:
        """Declare (or redeclare) an application; returns its deploy generation.
        `autoscaling_policy` (an AutoscalingPolicy as data) scales its deployments
        together."""
        await self.start()
        if route_prefix is not None:
            for other in self._apps.values():
                if other.name != name and not other.deleting and \
                        other.route_prefix == route_prefix:
                    raise ValueError(f"Prefix {route_prefix} is being used by application "
                                     f"\"{other.name}\". Failed to deploy application "
                                     f"\"{name}\".")
        app = self._apps.get(name)
        if app is None or app.deleting:
            app = self._apps[name] = _AppState(name)
        app.route_prefix = route_prefix
        app.ingress = ingress
        app.deployed_at = time.time()
        app.generation += 1
        app.status, app.message = "DEPLOYING", ""
        app.docs_path = next((s.get("docs_path") for s in specs if s["name"] == ingress), None)
        names = [s["name"] for s in specs]
        for old in app.deployments:
            if old not in names and (name, old) in self._deployments:
                self._deployments[(name, old)].delete()
        app.deployments = names
        for spec in specs:
            ds = self._deployments.get((name, spec["name"]))
            if ds is None or ds.gone():
                ds = self._deployments[(name, spec["name"])] = DeploymentState(
                    self, name, spec["name"])
            ds.deploy(spec)
            ds.app_driven = False
        from ember.serve._app_policy import AppPolicyRunner

        if autoscaling_policy is None:
            app.policy = None
        elif app.policy is None or app.policy.config.model_dump() != autoscaling_policy:
            app.policy = AppPolicyRunner(autoscaling_policy)
        self.wake()
        return app.generation

    async def wait_for_application(self, name: str, generation: int,
                                   timeout_s: float | None = None) -> dict:
        """Return once the app is RUNNING (or failed) at this deploy generation."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            app = self._apps.get(name)
            if app is None or app.generation != generation:
                return {"status": "NOT_STARTED" if app is None else app.status,
                        "message": "The application was replaced or deleted."}
            self._update_app_status(app)
            if app.status in ("RUNNING", "DEPLOY_FAILED"):
                return {"status": app.status, "message": app.message}
            if deadline is not None and time.monotonic() > deadline:
                return {"status": app.status, "message": app.message, "timeout": True}
            await asyncio.sleep(0.02)

    async def delete_application(self, name: str, wait: bool = True) -> None:
        app = self._apps.get(name)
        if app is None:
            return
        app.deleting = True
        app.status = "DELETING"
        for d in app.deployments:
            ds = self._deployments.get((name, d))
            if ds is not None:
                ds.delete()
        self.wake()
        while wait and name in self._apps:
            await asyncio.sleep(0.02)

    def _update_app_status(self, app: _AppState) -> None:
        if app.deleting:
            app.status = "DELETING"
            return
        states = [self._deployments[(app.name, d)] for d in app.deployments
                  if (app.name, d) in self._deployments]
        failed = [d for d in states if d.status == "DEPLOY_FAILED"]
        if failed:
            app.status = "DEPLOY_FAILED"
            app.message = "; ".join(f"Deployment '{d.name}' failed to deploy: {d.message}"
                                    for d in failed)
        elif any(d.status == "UPDATING" for d in states):
            if app.status != "UNHEALTHY":
                app.status = "DEPLOYING"
        elif any(d.status == "UNHEALTHY" for d in states):
            app.status = "UNHEALTHY"
            app.message = "; ".join(d.message for d in states if d.message)
        else:
            app.status, app.message = "RUNNING", ""

    def _publish_routes(self) -> None:
        table = {a.route_prefix: {"app": a.name, "deployment": a.ingress}
                 for a in self._apps.values()
                 if a.route_prefix is not None and not a.deleting and a.ingress}
        if table != self._routes_sig:
            self._routes_sig = table
            self.long_poll.publish(ROUTES_KEY, table)

    # -- queries ------------------------------------------------------------------------

    async def listen_for_change(self, listener_id: str, snapshot: dict) -> dict:
        await self.start()
        return await self.long_poll.listen(listener_id, snapshot)

    async def get_status(self) -> dict:
        apps = {}
        for name, app in self._apps.items():
            self._update_app_status(app)
            deps = {d: self._deployments[(name, d)].status_dict() for d in app.deployments
                    if (name, d) in self._deployments}
            apps[name] = {"status": app.status, "message": app.message,
                          "last_deployed_time_s": app.deployed_at, "deployments": deps,
                          "route_prefix": app.route_prefix, "ingress": app.ingress,
                          "docs_path": app.docs_path}
        return {"applications": apps, "proxies": self._proxies.status(),
                "http_options": self._http_options,
                "proxy_address": self._proxies.head_address,
                "proxy_addresses": self._proxies.addresses(),
                "grpc_addresses": self._proxies.grpc_addresses(),
                "proxy_location": self._proxies.location}

    async def get_details(self) -> dict:
        """get_status() plus, per deployment, its config as declared (Ray's
        `deployment_config`, with ray_actor_options) and its replicas: what the
        dashboard's Serve page shows."""
        status = await self.get_status()
        for name, app in status["applications"].items():
            for dep_name, dep in app["deployments"].items():
                ds = self._deployments[(name, dep_name)]
                dep["name"] = dep_name
                dep["deployment_config"] = {
                    **ds.config, "ray_actor_options": dict(ds.spec.get("ray_actor_options")
                                                           or {})}
                dep["replicas"] = [{"replica_id": r.replica_id, "state": r.state,
                                    "pid": r.pid, "actor_name": ds.actor_name(r)}
                                   for r in ds.replicas]
        return status

    async def get_app_ingress(self, name: str) -> str | None:
        app = self._apps.get(name)
        return None if app is None or app.deleting else app.ingress

    async def list_deployments(self) -> list[tuple[str, str]]:
        return [k for k, d in self._deployments.items() if not d.deleting]

    async def record_handle_metrics(self, key: tuple[str, str], handle_id: str, n: int) -> None:
        ds = self._deployments.get(key)
        if ds is not None:
            ds.record_handle_queued(handle_id, n)
            self.wake()

    async def record_multiplexed_model_ids(self, key: tuple[str, str], replica_id: str,
                                           ids: list[str]) -> None:
        ds = self._deployments.get(key)
        if ds is not None:
            ds.record_model_ids(replica_id, ids)

    # -- HTTP proxy ---------------------------------------------------------------------

    async def ensure_proxy(self, http_options: dict | None,
                           grpc_options: dict | None = None) -> str | None:
        """Start the HTTP proxies with these options unless they run; returns the head
        node's proxy address (None with ProxyLocation.Disabled)."""
        await self.start()
        if self._proxies.active:
            return self._proxies.head_address
        if http_options is not None:
            self._http_options = http_options
        return await self._proxies.ensure(self._http_options or {}, grpc_options)

    # -- shutdown -----------------------------------------------------------------------

    async def graceful_shutdown(self, timeout_s: float = 30.0) -> None:
        """Delete every application, stop the proxy; the caller then kills the controller."""
        await self.start()
        for name in list(self._apps):
            await self.delete_application(name, wait=False)
        deadline = time.monotonic() + timeout_s
        while self._apps and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for ds in self._deployments.values():
            ds.stop_all_now()
        await self._proxies.shutdown()
