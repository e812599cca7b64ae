"""The public functions: start, run, status, delete, shutdown and handle lookups."""

from __future__ import annotations

import time
from typing import Any

import ember
from ember.serve import _client
from ember.serve._build import build_specs
from ember.serve._constants import CONTROLLER_NAME, DEFAULT_APP_NAME, SERVE_NAMESPACE
from ember.serve.config import HTTPOptions, gRPCOptions
from ember.serve.deployment import Application
from ember.serve.exceptions import RayServeException
from ember.serve.handle import DeploymentHandle
from ember.serve.schema import ServeStatus

__all__ = ["delete", "get_app_handle", "get_deployment_handle", "run", "shutdown", "start",
           "status"]


def _controller_or_none() -> Any:
    if not ember.is_initialized():
        return None  # never start a cluster just to find Serve absent
    try:
        return ember.get_actor(CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
    except ValueError:
        return None


def start(http_options: dict | HTTPOptions | None = None, *, proxy_location: Any = None,
          detached: bool = True, grpc_options: Any = None, **kwargs: Any) -> None:
    """Start Serve on the cluster (the controller and the HTTP proxy) if not running.

    With Serve already running, its HTTP settings stay as they are.
    """
    _start(http_options, proxy_location, grpc_options)


def _start(http_options: Any, proxy_location: Any, grpc_options: Any = None) -> Any:
    opts = HTTPOptions.coerce(http_options).model_dump()
    grpc = gRPCOptions.coerce(grpc_options).model_dump() if grpc_options is not None else None
    loc = getattr(proxy_location, "value", proxy_location)
    if loc is not None:
        opts["location"] = loc
    controller = _controller_or_none()
    if controller is None:
        from ember.serve._controller import ServeController

        controller = ember.remote(ServeController).options(
            name=CONTROLLER_NAME, namespace=SERVE_NAMESPACE, lifetime="detached",
            get_if_exists=True, num_cpus=0, max_concurrency=100_000).remote(opts)
    ember.get(controller.start.remote())
    ember.get(controller.ensure_proxy.remote(opts, grpc))
    return controller


def run(target: Application, blocking: bool = False, name: str = DEFAULT_APP_NAME,
        route_prefix: str | None = "/", logging_config: Any = None,
        _local_testing_mode: bool = False, *, external_scaler_enabled: bool = False,
        timeout_s: float | None = None) -> DeploymentHandle:
    """Deploy `target` as application `name` and return a handle to its ingress.

    Waits until every deployment of the app is running; raises RuntimeError if one
    fails to deploy. A redeploy rolls replicas over without dropping requests.
    """
    if route_prefix is not None and not route_prefix.startswith("/"):
        raise ValueError(f"route_prefix must start with '/', got {route_prefix!r}.")
    if route_prefix is not None and len(route_prefix) > 1 and route_prefix.endswith("/"):
        raise ValueError(f"route_prefix may not end with '/', got {route_prefix!r}.")
    specs, ingress = build_specs(target, name)
    if logging_config is not None:
        from ember.serve._logging import with_app_default

        with_app_default(specs, logging_config)
    controller = _controller_or_none() or _start(None, None)
    return _deploy(controller, name, route_prefix, specs, ingress, blocking, timeout_s)


def _deploy(controller: Any, name: str, route_prefix: str | None, specs: list[dict],
            ingress: str, blocking: bool, timeout_s: float | None) -> DeploymentHandle:
    generation = ember.get(controller.deploy_application.remote(name, route_prefix, specs,
                                                                ingress))
    result = ember.get(controller.wait_for_application.remote(name, generation, timeout_s))
    if result["status"] == "DEPLOY_FAILED":
        raise RuntimeError(f"Deploying application {name!r} failed: {result['message']}")
    if result.get("timeout"):
        raise TimeoutError(f"Application {name!r} was not running after {timeout_s}s "
                           f"(status {result['status']}).")
    handle = DeploymentHandle(ingress, name)
    if blocking:
        _block()
    return handle


def _block() -> None:
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        shutdown()


def status() -> ServeStatus:
    """Status of the proxies, applications and deployments (empty if Serve is not up)."""
    controller = _controller_or_none()
    if controller is None:
        return ServeStatus()
    return ServeStatus.from_controller(ember.get(controller.get_status.remote()))


def delete(name: str, _blocking: bool = True) -> None:
    """Delete an application: its replicas drain and stop, its route goes away."""
    controller = _controller_or_none()
    if controller is None:
        return
    ember.get(controller.delete_application.remote(name, _blocking))


def shutdown() -> None:
    """Delete every application and stop Serve's actors (controller and proxy)."""
    controller = _controller_or_none()
    if controller is None:
        _client.reset_client()
        return
    try:
        ember.get(controller.graceful_shutdown.remote())
    finally:
        _client.reset_client()
        try:
            ember.kill(controller)
        except Exception:  # noqa: BLE001 - already gone
            pass
        # On a multi-node cluster the name outlives the kill briefly: a serve.start()
        # right after must not find the dying controller.
        deadline = time.monotonic() + 10
        while _controller_or_none() is not None and time.monotonic() < deadline:
            time.sleep(0.01)


def get_app_handle(name: str) -> DeploymentHandle:
    """A handle to the ingress deployment of application `name`."""
    controller = _client.get_controller()
    ingress = ember.get(controller.get_app_ingress.remote(name))
    if ingress is None:
        raise RayServeException(f"Application '{name}' does not exist.")
    return DeploymentHandle(ingress, name)


def get_deployment_handle(deployment_name: str, app_name: str | None = None,
                          _check_exists: bool = True) -> DeploymentHandle:
    """A handle to one deployment. Inside a replica, `app_name` defaults to its own app."""
    if app_name is None:
        from ember.serve.context import _replica

        app_name = _replica.app_name if _replica is not None else DEFAULT_APP_NAME
    if _check_exists:
        controller = _client.get_controller()
        known = ember.get(controller.list_deployments.remote())
        if (app_name, deployment_name) not in [tuple(k) for k in known]:
            raise RayServeException(f"Deployment '{deployment_name}' in application "
                                    f"'{app_name}' does not exist.")
    return DeploymentHandle(deployment_name, app_name)
