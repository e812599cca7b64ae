"""The fixtures of Ray's `python/ray/tests/conftest.py` that its public tests use,
re-implemented over the public API (this file is also installed as each run's conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Any

import pytest
import ray
from ray.cluster_utils import Cluster


def get_default_fixure_system_config() -> dict:
    return {"object_timeout_milliseconds": 200, "health_check_initial_delay_ms": 0,
            "health_check_failure_threshold": 10, "object_store_full_delay_ms": 100,
            "local_gc_min_interval_s": 1}


def get_default_fixture_ray_kwargs() -> dict:
    return {"num_cpus": 1, "object_store_memory": 150 * 1024 * 1024,
            "dashboard_port": None, "namespace": "default_test_namespace",
            "_system_config": get_default_fixure_system_config()}


def _needs_joinable(request: Any) -> bool:
    """Whether the test hands the cluster's address to another driver. Ray's fixtures
    always start a cluster other drivers can join; ember's embedded cluster (`init()`)
    cannot be joined, so such tests get a cluster of separate processes instead."""
    import inspect

    scoped = request.function if request.scope == "function" else request.module
    try:
        src = inspect.getsource(scoped)
    except (OSError, TypeError):
        return False
    if request.scope != "function":
        return f'{request.fixturename}["address"]' in src
    return '["address"]' in src or 'init("auto")' in src


@contextmanager
def _ray_start(request: Any = None, **kwargs: Any):
    init_kwargs = get_default_fixture_ray_kwargs()
    init_kwargs.update(kwargs)
    if request is not None and _needs_joinable(request):
        namespace = init_kwargs.pop("namespace")
        node_kwargs = {k: init_kwargs[k] for k in ("num_cpus", "num_gpus", "resources",
                                                   "object_store_memory", "labels")
                       if init_kwargs.get(k) is not None}
        cluster = Cluster(initialize_head=True, head_node_args=node_kwargs)
        try:
            yield ray.init(address=cluster.address, namespace=namespace)
        finally:
            ray.shutdown()
            cluster.shutdown()
        return
    info = ray.init("local", **init_kwargs)
    try:
        yield info
    finally:
        ray.shutdown()


@pytest.fixture(autouse=True)
def shutdown_after_own_init():
    """A test that calls `ray.init()` itself, with no fixture, and fails before its own
    `ray.shutdown()` must not leave the session to the tests after it (which would fail
    with "called init twice"). Fixtures of wider scope are set up before this one, so a
    module's shared cluster is left alone."""
    was_initialized = ray.is_initialized()
    yield
    if not was_initialized and ray.is_initialized():
        ray.shutdown()


@pytest.fixture
def maybe_setup_external_redis():
    yield


@pytest.fixture
def shutdown_only():
    yield None
    ray.shutdown()


@pytest.fixture
def ray_start_no_cpu(request):
    with _ray_start(num_cpus=0, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_regular(request):
    with _ray_start(request, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture(scope="module")
def ray_start_regular_shared(request):
    with _ray_start(request, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture(scope="module")
def ray_start_regular_shared_2_cpus(request):
    with _ray_start(num_cpus=2, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_2_cpus(request):
    with _ray_start(num_cpus=2, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_10_cpus(request):
    with _ray_start(num_cpus=10, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture(scope="class")
def class_ray_instance():
    yield ray.init()
    ray.shutdown()


@contextmanager
def _ray_start_cluster(**kwargs: Any):
    kwargs.pop("skip_cluster", None)
    init_kwargs = get_default_fixture_ray_kwargs()
    num_nodes = kwargs.pop("num_nodes", 0)
    do_init = kwargs.pop("do_init", num_nodes > 0)
    init_kwargs.update(kwargs)
    namespace = init_kwargs.pop("namespace")
    init_kwargs.pop("dashboard_port", None)
    cluster = Cluster()
    try:
        for i in range(num_nodes):
            if i > 0:
                init_kwargs.pop("_system_config", None)
            cluster.add_node(**init_kwargs)
            if i == 0 and do_init:
                ray.init(address=cluster.address, namespace=namespace)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def ray_start_cluster(request):
    with _ray_start_cluster(**getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_cluster_enabled(request):
    with _ray_start_cluster(**getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_cluster_init(request):
    with _ray_start_cluster(do_init=True, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_cluster_head(request):
    with _ray_start_cluster(do_init=True, num_nodes=1,
                            **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_cluster_2_nodes(request):
    with _ray_start_cluster(do_init=True, num_nodes=2,
                            **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def ray_start_object_store_memory(request):
    store_size = request.param
    with _ray_start(object_store_memory=store_size) as res:
        yield res


@pytest.fixture
def call_ray_start(request):
    param = getattr(request, "param", "ray start --head --num-cpus=1")
    args = param.split()[2:]
    out = subprocess.run([sys.executable, "-m", "ember._cli", "start", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    address = "auto"
    os.environ["RAY_ADDRESS"] = address
    yield address
    os.environ.pop("RAY_ADDRESS", None)
    ray.shutdown()
    subprocess.run([sys.executable, "-m", "ember._cli", "stop"], capture_output=True,
                   timeout=120)


@pytest.fixture
def call_ray_stop_only():
    yield
    subprocess.run([sys.executable, "-m", "ember._cli", "stop"], capture_output=True,
                   timeout=120)


@pytest.fixture
def set_enable_auto_connect(monkeypatch, enable_auto_connect: bool = False):
    """Ray's fixture: automatic connection on the first call turned off. (Its argument has
    a default, so pytest never fills it and Ray's tests always get False, as here.)"""
    monkeypatch.setenv("RAY_ENABLE_AUTO_CONNECT", "1" if enable_auto_connect else "0")
    yield enable_auto_connect


@pytest.fixture(params=[True, False])
def start_http_proxy(request):
    """Proxy settings in the environment, as Ray's fixture: the cluster's own connections
    must not go through them. Ray starts proxy.py for the first case (not installed here);
    this points it at a local port where nothing listens, which any connection made
    through the proxy would fail on."""
    import socket

    if request.param:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            proxy_url = f"http://127.0.0.1:{s.getsockname()[1]}"
    else:
        proxy_url = "http://example.com"
    yield {"http_proxy": proxy_url, "https_proxy": proxy_url}


@pytest.fixture
def tmp_working_dir(tmp_path):
    (tmp_path / "hello").write_text("world")
    (tmp_path / "test_module").mkdir()
    (tmp_path / "test_module" / "__init__.py").write_text("def one():\n    return 1\n")
    yield str(tmp_path)


@pytest.fixture
def enable_pickle_debug():
    yield
