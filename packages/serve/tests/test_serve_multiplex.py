"""@serve.multiplexed: per-replica model caches and routing to replicas that hold a model."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from ember import serve


def test_lru_cache_loads_once_and_evicts_the_least_recent():
    loads: list[str] = []
    unloaded: list[str] = []

    class Model:
        def __init__(self, name: str) -> None:
            self.name = name

        def __del__(self) -> None:
            unloaded.append(self.name)

    class Holder:
        @serve.multiplexed(max_num_models_per_replica=2)
        async def get_model(self, model_id: str) -> Model:
            loads.append(model_id)
            await asyncio.sleep(0.01)
            return Model(model_id)

    h = Holder()

    async def main() -> None:
        await asyncio.gather(h.get_model("a"), h.get_model("a"))  # one load for both
        await h.get_model("b")
        await h.get_model("a")  # "b" is now least recently used
        await h.get_model("c")

    asyncio.run(main())
    assert loads == ["a", "b", "c"]
    assert "b" in unloaded
    with pytest.raises(ValueError):
        serve.multiplexed(max_num_models_per_replica=0)


@serve.deployment(ray_actor_options={"num_cpus": 0}, num_replicas=2)
class Models:
    @serve.multiplexed(max_num_models_per_replica=2)
    async def get_model(self, model_id: str) -> dict:
        return {"model": model_id, "pid": os.getpid()}

    async def __call__(self, request=None) -> dict:
        return await self.get_model(serve.get_multiplexed_model_id())


def test_requests_for_a_model_go_where_it_is_loaded(serve_url, cleanup_apps, wait):
    from ember.serve._client import get_client

    h = serve.run(Models.bind(), name="models", route_prefix="/models")
    first = h.options(multiplexed_model_id="m1").remote().result()
    assert first["model"] == "m1"
    router = get_client().router("models", "Models")
    wait(lambda: any("m1" in r.model_ids for r in router.running_replicas()),
         what="the controller to learn where m1 is loaded")
    pids = {h.options(multiplexed_model_id="m1").remote().result()["pid"] for _ in range(10)}
    assert pids == {first["pid"]}
    r = httpx.get(f"{serve_url}/models", headers={"serve_multiplexed_model_id": "m1"},
                  timeout=10)
    assert r.json() == first
