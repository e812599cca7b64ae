"""A replica that dies in a chain of responses: the caller fails at once with an error
naming where the death happened, only the dead replica leaves rotation, and the chain
works again once the controller has replaced it."""

from __future__ import annotations

import os

import pytest

import ember
from ember import serve
from ember.serve.exceptions import RayServeException

NO_CPU = {"num_cpus": 0}


@serve.deployment(ray_actor_options=NO_CPU)
class Adder:
    def __call__(self, x: int) -> int:
        if x == 0:
            os._exit(0)
        return x + 1

    def actor_id(self) -> str:
        return ember.get_runtime_context().get_actor_id()


@serve.deployment(ray_actor_options=NO_CPU)
class Multiplier:
    def __call__(self, x: int) -> int:
        if x == 0:
            os._exit(0)
        return x * 2

    def actor_id(self) -> str:
        return ember.get_runtime_context().get_actor_id()


@serve.deployment(ray_actor_options=NO_CPU)
class Chain:
    def __init__(self, adder, multiplier) -> None:
        self.adder, self.multiplier = adder, multiplier

    async def __call__(self, x: int) -> int:
        return await self.multiplier.remote(self.adder.remote(x))


def _running(deployment: str, app: str) -> bool:
    status = serve.status().applications[app].deployments[deployment]
    return status.replica_states == {"RUNNING": 1}


def test_upstream_death_fails_fast_and_keeps_the_downstream_replica(serve_url, cleanup_apps,
                                                                     wait):
    h = serve.run(Chain.bind(Adder.bind(), Multiplier.bind()), name="up", route_prefix="/up")
    assert h.remote(5).result(timeout_s=20) == 12
    multiplier = serve.get_deployment_handle("Multiplier", "up")
    before = multiplier.actor_id.remote().result(timeout_s=20)
    with pytest.raises(RayServeException) as info:  # at once, not after a timeout
        h.remote(0).result(timeout_s=20)
    assert "Multiplier" in str(info.value) and "Adder" in str(info.value)
    # Adder is replaced; the chain works again through the same Multiplier replica.
    wait(lambda: h.remote(2).result(timeout_s=20) == 6, what="the chain to work again")
    assert multiplier.actor_id.remote().result(timeout_s=20) == before


def test_downstream_death_takes_only_that_replica_out(serve_url, cleanup_apps, wait):
    h = serve.run(Chain.bind(Adder.bind(), Multiplier.bind()), name="down",
                  route_prefix="/down")
    adder = serve.get_deployment_handle("Adder", "down")
    multiplier = serve.get_deployment_handle("Multiplier", "down")
    assert h.remote(5).result(timeout_s=20) == 12
    adder_before = adder.actor_id.remote().result(timeout_s=20)
    multiplier_before = multiplier.actor_id.remote().result(timeout_s=20)
    with pytest.raises(ember.exceptions.ActorDiedError):
        h.remote(-1).result(timeout_s=20)  # Adder makes 0, which kills Multiplier
    # The caller's router kept Chain (whose code only reported the death) in rotation.
    wait(lambda: _running("Multiplier", "down"), what="Multiplier to be replaced")
    assert h.remote(2).result(timeout_s=20) == 6
    assert multiplier.actor_id.remote().result(timeout_s=20) != multiplier_before
    assert adder.actor_id.remote().result(timeout_s=20) == adder_before
