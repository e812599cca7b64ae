"""Concurrency groups as in Ray: each group of an async actor has its own event loop and
thread, a blocked group never holds up another, order holds within a group only, and
Ray's system group never waits behind the actor's own work."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import ember


@ember.remote(concurrency_groups={"io": 2, "compute": 4})
class Grouped:
    def __init__(self):
        self.default_loop = asyncio.get_event_loop_policy().get_event_loop()

    @ember.method(concurrency_group="io")
    async def io_async(self):
        return threading.get_ident(), id(asyncio.get_running_loop())

    @ember.method(concurrency_group="io")
    def io_sync(self):
        return threading.get_ident(), id(asyncio.get_event_loop_policy().get_event_loop())

    @ember.method(concurrency_group="compute")
    def compute(self):
        return threading.get_ident()

    def default(self):
        return asyncio.get_event_loop_policy().get_event_loop() is self.default_loop


def test_each_group_runs_on_its_own_loop_and_thread(cluster):
    a = Grouped.remote()
    (t1, loop1), (t2, loop2) = ember.get([a.io_async.remote(), a.io_sync.remote()])
    t3 = ember.get(a.compute.remote())
    assert t1 == t2 and loop1 == loop2
    assert t3 != t1
    assert ember.get(a.default.remote())
    assert ember.get(a.io_sync.options(concurrency_group="compute").remote())[0] == t3


@ember.remote(concurrency_groups={"slow": 1, "fast": 1})
class Blocking:
    @ember.method(concurrency_group="slow")
    async def block(self, seconds):
        time.sleep(seconds)  # blocks its group's loop, on purpose
        return "slow"

    async def block_default(self, seconds):
        time.sleep(seconds)
        return "default"

    @ember.method(concurrency_group="fast")
    def fast(self, i):
        return i

    @ember.method(concurrency_group="slow")
    async def after(self, _dep):
        return "after"


def test_a_blocked_group_does_not_block_others(cluster):
    a = Blocking.remote()
    slow = [a.block.remote(3), a.block_default.remote(3)]
    start = time.monotonic()
    assert ember.get([a.fast.remote(i) for i in range(5)], timeout=30) == list(range(5))
    assert time.monotonic() - start < 2.5
    assert ember.get(slow) == ["slow", "default"]


def test_order_holds_within_a_group_only(cluster):
    @ember.remote
    def later(seconds):
        time.sleep(seconds)
        return 1

    a = Blocking.remote()
    waiting = a.after.remote(later.remote(2))  # its argument is not ready yet
    start = time.monotonic()
    assert ember.get([a.fast.remote(i) for i in range(3)], timeout=30) == [0, 1, 2]
    assert time.monotonic() - start < 1.5
    assert ember.get(waiting) == "after"


def test_system_group_is_never_blocked(cluster):
    @ember.remote
    class Plain:
        def block(self, seconds):
            time.sleep(seconds)
            return "blocked"

        def ping(self):
            return "pong"

    p = Plain.remote()
    ember.get(p.ping.remote())
    blocked = p.block.options(concurrency_group="_ray_system").remote(3)
    start = time.monotonic()
    assert ember.get(p.ping.remote(), timeout=30) == "pong"
    assert time.monotonic() - start < 2.5
    assert ember.get(blocked) == "blocked"


def test_a_group_of_zero_threads_fails_the_actor_not_the_caller(cluster, caplog):
    """As in Ray: creating the actor does not raise; the error is shown, and the actor
    never starts (its calls raise ActorDiedError saying why)."""

    @ember.remote(concurrency_groups={"io": 0, "compute": 1})
    class Empty:
        def ping(self):
            return "pong"

    with caplog.at_level("ERROR", logger="ember"):
        actor = Empty.remote()
    assert "max_concurrency must be greater than 0" in caplog.text
    with pytest.raises(ember.exceptions.ActorDiedError,
                       match="max_concurrency must be greater than 0"):
        ember.get(actor.ping.remote(), timeout=60)
