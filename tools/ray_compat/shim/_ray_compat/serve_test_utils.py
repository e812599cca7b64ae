"""Stands for `ray.serve._private.test_utils`: the helpers Serve's public tests use."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from typing import Any

from _ray_compat.internal import module_getattr


def _status() -> dict:
    import ember
    from ember.serve._client import get_controller

    return ember.get(get_controller().get_status.remote())


def get_application_urls(protocol: Any = "HTTP", app_name: str = "default",
                         use_localhost: bool = True, is_websocket: bool = False,
                         exclude_route_prefix: bool = False, **_: Any) -> list[str]:
    status = _status()
    if app_name not in status["applications"]:
        raise AssertionError(f"App {app_name} not found in serve details.")
    base = status["proxy_address"]
    if is_websocket:
        base = base.replace("http://", "ws://", 1)
    prefix = status["applications"][app_name]["route_prefix"]
    if exclude_route_prefix or prefix in (None, "/"):
        return [base]
    return [base + prefix]


def get_application_url(protocol: Any = "HTTP", app_name: str = "default",
                        use_localhost: bool = True, is_websocket: bool = False,
                        exclude_route_prefix: bool = False, **kwargs: Any) -> str:
    return get_application_urls(protocol, app_name, use_localhost, is_websocket,
                                exclude_route_prefix, **kwargs)[0]


def check_num_replicas_eq(name: str, target: int, app_name: str = "default",
                          use_controller: bool = False) -> bool:
    """Whether the deployment has `target` running replicas (asserts it)."""
    from ember import serve

    dep = serve.status().applications[app_name].deployments[name]
    assert dep.replica_states.get("RUNNING", 0) == target
    return True


@contextlib.asynccontextmanager
async def send_signal_on_cancellation(signal_actor: Any):
    """Wait inside the block until cancelled, then send `signal_actor` a signal."""
    cancelled = False
    try:
        yield
        await asyncio.sleep(100)
    except asyncio.CancelledError:
        cancelled = True
        await signal_actor.send.remote()
    if not cancelled:
        raise RuntimeError("CancelledError wasn't raised during "
                           "`send_signal_on_cancellation` block")


def tlog(s: str, level: str = "INFO") -> None:
    now = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
    print(f"[{level}] {now} {s}")


__getattr__ = module_getattr("ray.serve._private.test_utils")
