"""Recursive cancellation: cancelling a request cancels the requests its replica made to
other deployments while handling it, whether they run or still wait for a replica."""

from __future__ import annotations

import asyncio

import pytest

import ember
from ember import serve
from ember.serve.exceptions import RequestCancelledError

NO_CPU = {"num_cpus": 0}


@ember.remote(num_cpus=0)
class Signal:
    """An event other processes can set, wait on, and count the waiters of."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.waiters = 0

    async def send(self) -> None:
        self.event.set()

    async def wait(self) -> None:
        self.waiters += 1
        await self.event.wait()

    async def num_waiters(self) -> int:
        return self.waiters


async def wait_until_cancelled(signal) -> None:
    """Wait until cancelled, then send `signal`; swallows the cancellation, as user code
    may (Ray's tests do the same)."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        await signal.send.remote()


def wait_for_waiters(wait, signal, n: int) -> None:
    wait(lambda: ember.get(signal.num_waiters.remote()) == n, what=f"{n} waiters")


def test_cancelling_a_request_cancels_the_running_requests_it_made(serve_url, cleanup_apps):
    inner_cancelled, outer_cancelled = Signal.remote(), Signal.remote()
    inner_started = Signal.remote()

    @serve.deployment(ray_actor_options=NO_CPU)
    async def inner():
        # The driver may see `inner_started` set, and cancel, before this replica has the
        # reply of its `send`: a cancel there must count too.
        try:
            await inner_started.send.remote()
        except asyncio.CancelledError:
            await inner_cancelled.send.remote()
            return
        await wait_until_cancelled(inner_cancelled)

    @serve.deployment(ray_actor_options=NO_CPU)
    class Outer:
        def __init__(self, handle) -> None:
            self.handle = handle

        async def __call__(self):
            self.handle.remote()  # never awaited: only the cancel can end it
            await wait_until_cancelled(outer_cancelled)

    h = serve.run(Outer.bind(inner.bind()), name="rcancel", route_prefix="/rcancel")
    resp = h.remote()
    ember.get(inner_started.wait.remote(), timeout=20)  # the inner request runs
    resp.cancel()
    with pytest.raises(RequestCancelledError):
        resp.result()
    ember.get(outer_cancelled.wait.remote(), timeout=20)
    ember.get(inner_cancelled.wait.remote(), timeout=20)


def test_cancelling_a_request_drops_its_queued_downstream_requests(serve_url, cleanup_apps,
                                                                  wait):
    gate = Signal.remote()

    @serve.deployment(ray_actor_options=NO_CPU, max_ongoing_requests=1)
    class Counter:
        def __init__(self) -> None:
            self.count = 0

        async def __call__(self) -> None:
            self.count += 1
            await gate.wait.remote()

        def get_count(self) -> int:
            return self.count

    @serve.deployment(ray_actor_options=NO_CPU)
    class Ingress:
        def __init__(self, handle) -> None:
            self.handle = handle

        async def __call__(self) -> str:
            self.handle.remote()  # the second one waits for Counter's only slot
            await gate.wait.remote()
            return "hi"

        async def get_count(self) -> int:
            return await self.handle.get_count.remote()

        async def children_left(self) -> int:
            from ember.serve import context

            return sum(len(v) for table in (context._requests_pending_assignment,
                                            context._in_flight_requests)
                       for v in table.values())

    h = serve.run(Ingress.bind(Counter.bind()), name="qcancel", route_prefix="/qcancel")
    first = h.remote()
    wait_for_waiters(wait, gate, 2)  # Ingress and Counter both wait on the gate
    second = h.remote()
    wait_for_waiters(wait, gate, 3)  # the second Ingress call waits; its Counter call is queued
    second.cancel()
    ember.get(gate.send.remote())
    assert first.result(timeout_s=20) == "hi"
    for _ in range(5):  # the queued Counter call was dropped, never run
        assert h.get_count.remote().result(timeout_s=20) == 1
    assert h.children_left.remote().result(timeout_s=20) == 0


def test_requests_of_a_finished_request_are_not_cancelled_with_another(serve_url,
                                                                       cleanup_apps, wait):
    gate = Signal.remote()

    @serve.deployment(ray_actor_options=NO_CPU)
    class Slow:
        async def __call__(self) -> str:
            await gate.wait.remote()
            return "done"

    @serve.deployment(ray_actor_options=NO_CPU)
    class Ingress:
        def __init__(self, handle) -> None:
            self.handle = handle
            self.kept = None

        async def start(self) -> None:
            self.kept = self.handle.remote()  # outlives the request that made it

        async def wait_forever(self) -> None:
            await asyncio.Event().wait()

        async def kept_result(self) -> str:
            return await self.kept

    h = serve.run(Ingress.bind(Slow.bind()), name="kcancel", route_prefix="/kcancel")
    h.start.remote().result(timeout_s=20)
    wait_for_waiters(wait, gate, 1)
    other = h.wait_forever.remote()
    other.cancel()
    ember.get(gate.send.remote())
    assert h.kept_result.remote().result(timeout_s=20) == "done"
