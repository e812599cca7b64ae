"""The fixtures of Ray Serve's `python/ray/serve/tests/conftest.py` that its public tests
use, over ember's public API (installed in the conftest of serve-area runs)."""

from __future__ import annotations

import pytest
import ray
from ray import serve

__all__ = ["_shared_serve_instance", "ray_shutdown", "ray_start", "serve_instance",
           "serve_instance_async", "serve_instance_with_signal"]


class _Client:
    """Stands for Serve's internal client object: what the fixtures' users call on it."""

    def delete_all_apps(self) -> None:
        for name in list(serve.status().applications):
            serve.delete(name)

    def shutdown_cached_handles(self) -> None:
        pass

    async def shutdown_cached_handles_async(self) -> None:
        pass


@pytest.fixture(scope="session")
def _shared_serve_instance():
    ray.init(num_cpus=8, namespace="default_test_namespace")
    serve.start(http_options={"host": "127.0.0.1"})
    yield _Client()
    serve.shutdown()
    ray.shutdown()


@pytest.fixture
def serve_instance(_shared_serve_instance):
    yield _shared_serve_instance
    _shared_serve_instance.delete_all_apps()


@pytest.fixture
def serve_instance_async(_shared_serve_instance):
    yield _shared_serve_instance
    _shared_serve_instance.delete_all_apps()


@pytest.fixture
def serve_instance_with_signal(serve_instance):
    from _ray_compat.test_utils import SignalActor

    signal = SignalActor.options(name="signal123").remote()
    yield serve_instance, signal
    ray.kill(signal)


@pytest.fixture
def ray_shutdown():
    serve.shutdown()
    if ray.is_initialized():
        ray.shutdown()
    yield
    serve.shutdown()
    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture
def ray_start(scope="module"):
    ray.init(num_cpus=8)
    yield
    ray.shutdown()
