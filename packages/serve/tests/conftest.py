"""Serve test fixtures: one ember cluster and Serve instance per test module."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ember
from ember import serve


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll `predicate` until it returns a truthy value (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def start_serve(**http_options: Any) -> str:
    """Start Serve on a port the proxy picks itself (no race for a free port); returns
    its URL. A failure shuts ember down so that later modules can start theirs."""
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": 0, **http_options})
        from ember.serve._client import get_controller

        return ember.get(get_controller().get_status.remote())["proxy_address"]
    except BaseException:
        ember.shutdown()
        raise


@pytest.fixture(scope="session")
def serve_starter() -> Callable[..., str]:
    """`start_serve` for modules that need their own Serve settings."""
    return start_serve


@pytest.fixture(scope="module")
def serve_url() -> Iterator[str]:
    """An ember cluster (2 CPUs) with Serve listening on a free loopback port."""
    ember.init(num_cpus=2)
    yield start_serve()
    try:
        serve.shutdown()
    finally:
        ember.shutdown()


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """An ember cluster without Serve started (tests start it as they need)."""
    ember.init(num_cpus=2)
    yield
    try:
        serve.shutdown()
    finally:
        ember.shutdown()


@pytest.fixture
def cleanup_apps(serve_url: str) -> Iterator[None]:
    """Delete the applications a test deployed."""
    yield
    for name in list(serve.status().applications):
        serve.delete(name)


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for
