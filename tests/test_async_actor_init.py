"""An async actor's `async def __init__` runs on the actor's event loop (as in Ray)."""

from __future__ import annotations

import asyncio

import pytest

import ember


@ember.remote
class Started:
    async def __init__(self, start: int) -> None:
        await asyncio.sleep(0)
        self.value = start
        self.ticked = asyncio.Event()
        asyncio.get_running_loop().create_task(self._tick())  # lives on after __init__

    async def _tick(self) -> None:
        self.value += 1
        self.ticked.set()

    async def get(self) -> int:
        await self.ticked.wait()
        return self.value


@ember.remote
class Broken:
    async def __init__(self) -> None:
        raise ValueError("no start")

    async def get(self) -> int:
        return 1


@pytest.fixture(scope="module")
def cluster():
    ember.init(num_cpus=1)
    yield
    ember.shutdown()


def test_async_init_runs_on_the_actor_loop(cluster):
    a = Started.remote(41)
    assert ember.get(a.get.remote(), timeout=30) == 42


def test_async_init_failure_fails_the_actor(cluster):
    b = Broken.remote()
    with pytest.raises(ember.exceptions.RayActorError, match="no start"):
        ember.get(b.get.remote(), timeout=30)
