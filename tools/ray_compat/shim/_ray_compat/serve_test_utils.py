"""Stands for `ray.serve._private.test_utils`: the helpers Serve's public tests use."""

from __future__ import annotations

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


__getattr__ = module_getattr("ray.serve._private.test_utils")
