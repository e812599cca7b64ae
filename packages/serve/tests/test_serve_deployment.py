"""Deployments and the controller: deploy, options, user_config, status, several apps,
rolling updates, health checks, crashed replicas, deletion."""

from __future__ import annotations

import os
import threading

import pytest

import ember
from ember import serve
from ember.serve.exceptions import RayServeException

NO_CPU = {"num_cpus": 0}


@serve.deployment(ray_actor_options=NO_CPU)
def echo(x):
    return x


@serve.deployment(ray_actor_options=NO_CPU)
class Counter:
    def __init__(self, start: int = 0) -> None:
        self.n = start

    def __call__(self, inc: int = 1) -> int:
        self.n += inc
        return self.n

    def pid(self) -> int:
        return os.getpid()


@serve.deployment(ray_actor_options=NO_CPU, user_config={"threshold": 1})
class Configured:
    def __init__(self) -> None:
        self.threshold = None
        self.calls = 0

    def reconfigure(self, config: dict) -> None:
        self.threshold = config["threshold"]
        self.calls += 1

    def get(self) -> tuple:
        return self.threshold, self.calls, os.getpid()


@serve.deployment(ray_actor_options=NO_CPU)
class Versioned:
    def __init__(self, version: str) -> None:
        self.version = version

    async def __call__(self) -> str:
        return self.version


def test_function_and_class_deployments(serve_url, cleanup_apps):
    h = serve.run(echo.bind(), name="fn", route_prefix="/fn")
    assert h.remote("hi").result(timeout_s=10) == "hi"
    c = serve.run(Counter.bind(10), name="cls", route_prefix="/cls")
    assert c.remote().result() == 11
    assert c.remote(5).result() == 16
    assert isinstance(c.pid.remote().result(), int)
    st = serve.status().applications
    assert st["fn"].status == "RUNNING" and st["cls"].status == "RUNNING"
    assert st["cls"].deployments["Counter"].replica_states == {"RUNNING": 1}


def test_deployment_cannot_be_called_directly_and_run_needs_bind(serve_url):
    with pytest.raises(RuntimeError, match="bind"):
        Counter()
    with pytest.raises(TypeError, match="bind"):
        serve.run(Counter)


def test_options_validate_at_call_site():
    with pytest.raises(ValueError, match="autoscaling_config"):
        serve.deployment(num_replicas=2, autoscaling_config={"max_replicas": 2})(echo.func_or_class)
    with pytest.raises(ValueError):
        echo.options(max_ongoing_requests=0)
    with pytest.raises(ValueError):
        echo.options(max_queued_requests=0)
    d = Counter.options(num_replicas=3, name="C3")
    assert d.name == "C3" and d.num_replicas == 3 and Counter.num_replicas == 1
    auto = Counter.options(num_replicas="auto")
    assert auto.autoscaling_config["max_replicas"] == 100


def test_num_replicas_and_redeploy_scale(serve_url, cleanup_apps, wait):
    h = serve.run(Counter.options(num_replicas=2).bind(), name="scale", route_prefix=None)

    def both_replicas() -> set | None:
        pids = {h.pid.remote().result() for _ in range(30)}
        return pids if len(pids) == 2 else None

    wait(both_replicas, what="requests on both replicas")
    serve.run(Counter.options(num_replicas=1).bind(), name="scale", route_prefix=None)
    wait(lambda: serve.status().applications["scale"].deployments["Counter"]
         .replica_states == {"RUNNING": 1}, what="scale down to 1")


def test_user_config_updates_in_place(serve_url, cleanup_apps):
    h = serve.run(Configured.bind(), name="cfg", route_prefix=None)
    threshold, calls, pid = h.get.remote().result()
    assert (threshold, calls) == (1, 1)
    serve.run(Configured.options(user_config={"threshold": 5}).bind(), name="cfg",
              route_prefix=None)
    threshold2, calls2, pid2 = h.get.remote().result()
    assert (threshold2, calls2, pid2) == (5, 2, pid)  # same replica, reconfigured


def test_several_applications_and_handles(serve_url, cleanup_apps):
    serve.run(Versioned.bind("a"), name="app_a", route_prefix="/a")
    serve.run(Versioned.bind("b"), name="app_b", route_prefix="/b")
    assert serve.get_app_handle("app_a").remote().result() == "a"
    assert serve.get_app_handle("app_b").remote().result() == "b"
    assert serve.get_deployment_handle("Versioned", "app_b").remote().result() == "b"
    with pytest.raises(RayServeException):
        serve.get_app_handle("nope")
    with pytest.raises(RayServeException):
        serve.get_deployment_handle("Nope", "app_a")
    with pytest.raises(ValueError, match="Prefix /a"):
        serve.run(Versioned.bind("c"), name="app_c", route_prefix="/a")
    serve.delete("app_a")
    assert "app_a" not in serve.status().applications
    assert serve.get_app_handle("app_b").remote().result() == "b"


def test_constructor_failure_is_deploy_failed(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU)
    class Broken:
        def __init__(self) -> None:
            raise ValueError("no model file")

    with pytest.raises(RuntimeError, match="no model file"):
        serve.run(Broken.bind(), name="broken", route_prefix=None)
    app = serve.status().applications["broken"]
    assert app.status == "DEPLOY_FAILED"
    assert app.deployments["Broken"].status == "DEPLOY_FAILED"


def test_rolling_update_drops_no_requests(serve_url, cleanup_apps, wait):
    h = serve.run(Versioned.options(num_replicas=2).bind("v1"), name="roll",
                  route_prefix=None)
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                seen.append(h.remote().result(timeout_s=30))
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait(lambda: len(seen) > 20, what="load before the update")
        serve.run(Versioned.options(num_replicas=2).bind("v2"), name="roll",
                  route_prefix=None)
        n = len(seen)
        wait(lambda: len(seen) > n + 20, what="load after the update")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert seen[-1] == "v2" and "v1" in seen
    assert h.remote().result() == "v2"
    dep = serve.status().applications["roll"].deployments["Versioned"]
    assert dep.replica_states == {"RUNNING": 2}


def test_failed_health_check_replaces_replica(serve_url, cleanup_apps, wait):
    @serve.deployment(ray_actor_options=NO_CPU, health_check_period_s=0.1,
                      health_check_timeout_s=2)
    class Fragile:
        def __init__(self) -> None:
            self.healthy = True

        def break_(self) -> int:
            self.healthy = False
            return os.getpid()

        def check_health(self) -> None:
            if not self.healthy:
                raise RuntimeError("lost the GPU")

        def pid(self) -> int:
            return os.getpid()

    h = serve.run(Fragile.bind(), name="fragile", route_prefix=None)
    broken_pid = h.break_.remote().result()
    wait(lambda: h.pid.remote().result() != broken_pid, what="a new replica")
    wait(lambda: serve.status().applications["fragile"].status == "RUNNING",
         what="the app to be healthy again")


def test_crashed_replica_is_restarted(serve_url, cleanup_apps, wait):
    @serve.deployment(ray_actor_options=NO_CPU)
    class Crashy:
        def crash(self) -> None:
            os._exit(1)

        def pid(self) -> int:
            return os.getpid()

    h = serve.run(Crashy.bind(), name="crashy", route_prefix=None)
    pid = h.pid.remote().result()
    with pytest.raises(ember.exceptions.RayActorError):
        h.crash.remote().result(timeout_s=10)
    new_pid = wait(lambda: (p := h.pid.remote().result(timeout_s=10)) != pid and p,
                   what="a replacement replica")
    assert new_pid != pid


def test_delete_waits_for_ongoing_requests(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, graceful_shutdown_wait_loop_s=0.05)
    class Slow:
        async def __call__(self, s: float) -> str:
            import asyncio

            await asyncio.sleep(s)
            return "finished"

    h = serve.run(Slow.bind(), name="slow", route_prefix=None)
    resp = h.remote(0.5)
    h.remote(0).result()  # the slow call is running now
    serve.delete("slow")
    assert resp.result(timeout_s=10) == "finished"


def test_replica_context_and_function_arguments(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU)
    def where(prefix: str, x: int) -> tuple:
        ctx = serve.get_replica_context()
        return prefix, x, ctx.app_name, ctx.deployment, bool(ctx.replica_id)

    h = serve.run(where.bind("p"), name="ctx", route_prefix=None)
    assert h.remote(3).result() == ("p", 3, "ctx", "where", True)
    with pytest.raises(RayServeException):
        serve.get_replica_context()
