"""Deployment-scoped actors (Ray's `DeploymentActorConfig`): started before the replicas,
shared by all of them, gone with the deployment."""

from __future__ import annotations

import pytest

import ember
from ember import serve
from ember.serve.config import DeploymentActorConfig


@ember.remote
class Counter:
    def __init__(self, start: int = 0) -> None:
        self.value = start

    def increment(self) -> int:
        self.value += 1
        return self.value


@serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0}, deployment_actors=[
    DeploymentActorConfig(name="counter", actor_class=Counter, init_kwargs={"start": 10},
                          actor_options={"num_cpus": 0})])
class Shared:
    def __init__(self) -> None:
        self.counter = serve.get_deployment_actor("counter")  # ready before replicas

    async def __call__(self) -> int:
        return await self.counter.increment.remote()

    def missing(self) -> str:
        try:
            serve.get_deployment_actor("nope")
        except ValueError as e:
            return str(e)
        return ""


def names() -> set[str]:
    from ember.util import state

    return {a.get("name") for a in state.list_actors() if a.get("state") == "ALIVE"}


def test_replicas_share_one_actor_that_goes_with_the_deployment(serve_url, wait):
    h = serve.run(Shared.bind(), name="shared", route_prefix=None)
    # One counter for both replicas: ten calls count 11..20 with no repeats.
    values = sorted(h.remote().result(timeout_s=30) for _ in range(10))
    assert values == list(range(11, 21))
    assert "nope" in h.missing.remote().result(timeout_s=30)
    full = "SERVE_DEPLOYMENT_ACTOR::shared#Shared#counter"
    assert full in names()
    serve.delete("shared")
    wait(lambda: full not in names(), what="the scoped actor to stop")


def test_config_is_checked():
    with pytest.raises(ValueError, match="Duplicate"):
        Shared.options(deployment_actors=[
            DeploymentActorConfig(name="a", actor_class=Counter),
            DeploymentActorConfig(name="a", actor_class=Counter)])


@serve.deployment(ray_actor_options={"num_cpus": 0}, deployment_actors=[
    DeploymentActorConfig(name="counter", actor_class=Counter,
                          actor_options={"num_cpus": 0})])
class Refreshing:
    """Ray's documented pattern: a cached handle, fetched again when its actor died."""

    def __init__(self) -> None:
        self.counter = serve.get_deployment_actor("counter")

    async def __call__(self) -> int:
        try:
            return await self.counter.increment.remote()
        except ember.exceptions.RayActorError:
            self.counter = serve.get_deployment_actor("counter")
            raise


def test_a_dead_scoped_actor_is_started_again(serve_url, cleanup_apps, wait):
    h = serve.run(Refreshing.bind(), name="refresh", route_prefix=None)
    assert [h.remote().result(timeout_s=30) for _ in range(3)] == [1, 2, 3]
    old = ember.get_actor("SERVE_DEPLOYMENT_ACTOR::refresh#Refreshing#counter",
                          namespace="serve")
    ember.kill(old)

    def fresh_count() -> int | None:
        try:
            return h.remote().result(timeout_s=30)
        except Exception:  # noqa: BLE001 - the old actor's death, then a refresh
            return None

    # The controller starts a new counter (from 0 again) under the same name.
    assert wait(fresh_count, timeout=30, what="a call on the new scoped actor") == 1


@ember.remote(runtime_env={"env_vars": {"SCOPED_FLAG": "on"}})
class EnvReader:
    def get(self) -> str | None:
        import os

        return os.environ.get("SCOPED_FLAG")


@serve.deployment(ray_actor_options={"num_cpus": 0}, deployment_actors=[
    DeploymentActorConfig(name="env", actor_class=EnvReader, actor_options={"num_cpus": 0})])
class AsksEnv:
    async def __call__(self) -> str | None:
        return await serve.get_deployment_actor("env").get.remote()


def test_the_remote_decorators_options_are_kept(serve_url, cleanup_apps):
    h = serve.run(AsksEnv.bind(), name="envs", route_prefix=None)
    assert h.remote().result(timeout_s=60) == "on"
