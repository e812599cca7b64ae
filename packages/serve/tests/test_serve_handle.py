"""DeploymentHandle and DeploymentResponse: composition, awaiting, streaming, errors,
back-pressure and replica choice."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

import ember
from ember import serve
from ember.serve.exceptions import BackPressureError

NO_CPU = {"num_cpus": 0}


@serve.deployment(ray_actor_options=NO_CPU)
class Adder:
    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, x: int) -> int:
        return x + self.n


@serve.deployment(ray_actor_options=NO_CPU)
class Multiplier:
    def __init__(self, k: int) -> None:
        self.k = k

    async def __call__(self, x: int) -> int:
        return x * self.k


@serve.deployment(ray_actor_options=NO_CPU)
class Pipeline:
    """Calls two deployments; the first response goes straight into the second call."""

    def __init__(self, adder, multiplier) -> None:
        self.adder = adder
        self.multiplier = multiplier

    async def __call__(self, x: int) -> int:
        return await self.multiplier.remote(self.adder.remote(x))

    async def fan_out(self, xs: list[int]) -> list[int]:
        return list(await asyncio.gather(*[self.adder.remote(x) for x in xs]))


@serve.deployment(ray_actor_options=NO_CPU)
class Streamer:
    def count(self, n: int):
        yield from range(n)

    async def acount(self, n: int):
        for i in range(n):
            await asyncio.sleep(0)
            yield f"item-{i}"

    def not_a_generator(self) -> int:
        return 1


@serve.deployment(ray_actor_options=NO_CPU)
class Failing:
    def __call__(self) -> None:
        raise KeyError("missing key")


def test_model_composition(serve_url, cleanup_apps):
    app = Pipeline.bind(Adder.bind(1), Multiplier.bind(10))
    h = serve.run(app, name="compose", route_prefix=None)
    assert h.remote(2).result(timeout_s=10) == 30
    assert h.fan_out.remote([1, 2, 3]).result() == [2, 3, 4]
    deps = serve.status().applications["compose"].deployments
    assert set(deps) == {"Pipeline", "Adder", "Multiplier"}


def test_response_passed_between_handles_from_the_driver(serve_url, cleanup_apps):
    serve.run(Adder.bind(5), name="add", route_prefix=None)
    serve.run(Multiplier.bind(3), name="mul", route_prefix=None)
    add = serve.get_app_handle("add")
    mul = serve.get_app_handle("mul")
    # Chained without waiting here; the value flows between the replicas.
    assert mul.remote(add.remote(1)).result() == 18
    responses = [add.remote(i) for i in range(20)]
    assert [r.result() for r in responses] == [i + 5 for i in range(20)]


def test_await_responses_in_asyncio(serve_url, cleanup_apps):
    h = serve.run(Multiplier.bind(2), name="async", route_prefix=None)

    async def main() -> list[int]:
        return list(await asyncio.gather(*[h.remote(i) for i in range(10)]))

    assert asyncio.run(main()) == [2 * i for i in range(10)]


def test_streaming_responses(serve_url, cleanup_apps):
    h = serve.run(Streamer.bind(), name="stream", route_prefix=None)
    assert list(h.options(stream=True).count.remote(5)) == [0, 1, 2, 3, 4]

    async def consume() -> list[str]:
        return [x async for x in h.options(stream=True).acount.remote(3)]

    assert asyncio.run(consume()) == ["item-0", "item-1", "item-2"]
    with pytest.raises(TypeError, match="stream=True"):
        h.count.remote(3).result()
    with pytest.raises(TypeError, match="generator"):
        list(h.options(stream=True).not_a_generator.remote())


def test_a_stream_collected_inside_the_routers_lock_frees_its_slot(serve_url, cleanup_apps):
    """The cyclic collector may finalize an abandoned stream at any allocation, also while
    this very thread routes another call (the router's lock held). That must neither
    deadlock the thread (an ingress replica's event loop once hung so, until its health
    check failed) nor leak the replica's slot."""
    import gc

    h = serve.run(Streamer.options(max_ongoing_requests=1).bind(), name="stream1",
                  route_prefix=None)
    stream = h.options(stream=True).count.remote(3)
    assert next(stream) == 0
    stream.cycle = stream  # only the cyclic collector frees it
    lock = stream._call.router._lock
    del stream
    finished = threading.Event()

    def collect_under_the_lock() -> None:
        with lock:
            gc.collect()
        finished.set()

    threading.Thread(target=collect_under_the_lock, daemon=True).start()
    assert finished.wait(30), "finalizing a stream under the router's lock deadlocked"
    # The one slot is free again: a new call is placed and completes.
    got: list[int] = []
    done = threading.Event()

    def call() -> None:
        got.extend(h.options(stream=True).count.remote(2))
        done.set()

    threading.Thread(target=call, daemon=True).start()
    assert done.wait(30) and got == [0, 1], "the collected stream kept its replica's slot"


def test_user_exception_reaches_the_caller(serve_url, cleanup_apps):
    h = serve.run(Failing.bind(), name="failing", route_prefix=None)
    with pytest.raises(KeyError, match="missing key"):
        h.remote().result()


def test_result_timeout(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, graceful_shutdown_timeout_s=0.2)
    class Sleepy:
        async def __call__(self, s: float) -> str:
            await asyncio.sleep(s)
            return "awake"

    h = serve.run(Sleepy.bind(), name="sleepy", route_prefix=None)
    with pytest.raises(TimeoutError):
        h.remote(5).result(timeout_s=0.2)
    assert h.remote(0).result() == "awake"


@ember.remote(num_cpus=0)
class Signal:
    """Ray's test idiom: requests wait on it until the test sends."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self) -> None:
        await self.event.wait()

    async def send(self) -> None:
        self.event.set()


def test_back_pressure_rejects_past_max_queued_requests(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, max_ongoing_requests=1, max_queued_requests=2)
    class Gate:
        def __init__(self, signal) -> None:
            self.signal = signal

        async def __call__(self) -> str:
            await self.signal.wait.remote()
            return "through"

    signal = Signal.remote()
    h = serve.run(Gate.bind(signal), name="gate", route_prefix=None)
    first = h.remote()  # occupies the only slot
    queued = [h.remote(), h.remote()]
    with pytest.raises(BackPressureError):
        h.remote().result(timeout_s=10)
    ember.get(signal.send.remote())
    assert first.result(timeout_s=10) == "through"
    assert [q.result(timeout_s=10) for q in queued] == ["through", "through"]


def test_power_of_two_choices_spreads_load(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, num_replicas=2)
    class Who:
        async def __call__(self) -> int:
            await asyncio.sleep(0.01)
            return os.getpid()

    h = serve.run(Who.bind(), name="who", route_prefix=None)
    # The handle learns the replica table asynchronously: first let it see both.
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.update(r.result() for r in [h.remote() for _ in range(8)])
    assert len(seen) == 2, "the handle never routed to the second replica"
    pids = [r.result() for r in [h.remote() for _ in range(40)]]
    counts = sorted(pids.count(p) for p in set(pids))
    assert len(counts) == 2 and counts[0] >= 10, counts


def test_handles_are_thread_safe(serve_url, cleanup_apps):
    h = serve.run(Adder.bind(1), name="threads", route_prefix=None)
    results: list[int] = []

    def work(base: int) -> None:
        for i in range(25):
            results.append(h.remote(base + i).result())

    threads = [threading.Thread(target=work, args=(100 * t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(100 * t + i + 1 for t in range(4) for i in range(25))


def test_cancel_a_queued_request(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options=NO_CPU, max_ongoing_requests=1)
    class One:
        async def __call__(self, s: float) -> float:
            await asyncio.sleep(s)
            return s

    h = serve.run(One.bind(), name="one", route_prefix=None)
    busy = h.remote(0.3)
    queued = h.remote(0)
    queued.cancel()
    from ember.serve.exceptions import RequestCancelledError

    with pytest.raises(RequestCancelledError):
        queued.result()
    assert busy.result() == 0.3


def test_handles_with_the_same_settings_are_equal():
    from ember.serve.handle import DeploymentHandle

    h = DeploymentHandle("D", "app")
    assert h.options(method_name="m") == h.options(method_name="m") == h.m
    assert h.options(method_name="m") != h.options(method_name="n")
    assert h.options(stream=True) != h
    assert len({h, DeploymentHandle("D", "app"), h.options(multiplexed_model_id="x")}) == 2


def test_generator_calls_need_stream_and_say_so(serve_url):
    @serve.deployment(ray_actor_options={"num_cpus": 0})
    class Gen:
        def __call__(self):
            yield 1

        def unary(self):
            return 1

        def wraps_generator(self):
            return (i for i in range(2))

    h = serve.run(Gen.bind(), name="gen", route_prefix="/gen")
    with pytest.raises(TypeError, match=r"Method '__call__' returned a generator. You must "
                       r"use `handle.options\(stream=True\)`"):
        h.remote().result()
    with pytest.raises(TypeError, match="returned a generator"):
        h.wraps_generator.remote().result()
    gen = h.options(stream=True).unary.remote()
    with pytest.raises(TypeError, match=r"'unary' .* but it did not return a generator"):
        next(iter(gen))
    assert list(h.options(stream=True).remote()) == [1]


def test_unknown_method_raises_ray_serve_exception_listing_methods(serve_url):
    from ember.serve.exceptions import RayServeException

    @serve.deployment(ray_actor_options=NO_CPU)
    class A:
        def exists(self):
            return 1

    h = serve.run(A.bind(), name="unknown", route_prefix="/unknown")
    with pytest.raises(RayServeException, match=r"'does_not_exist' that does not exist. "
                       r"Available methods: \['exists'\]"):
        h.does_not_exist.remote().result()


def test_async_init_and_async_methods_returning_generators(serve_url):
    @serve.deployment(ray_actor_options=NO_CPU)
    class Streamer:
        async def __init__(self, base: int) -> None:
            await asyncio.sleep(0)
            self.base = base

        async def numbers(self, n: int):
            for i in range(n):
                yield self.base + i

        async def wraps(self, n: int):
            return self.numbers(n)

    h = serve.run(Streamer.bind(10), name="ainit", route_prefix="/ainit")
    stream = h.options(stream=True)
    assert list(stream.numbers.remote(3)) == [10, 11, 12]
    assert list(stream.wraps.remote(2)) == [10, 11]


def test_handle_init_router_sharing_and_shutdown(serve_url):
    @serve.deployment(ray_actor_options=NO_CPU)
    def hi():
        return "hi"

    h = serve.run(hi.bind(), name="hinit", route_prefix="/hinit")
    h._init(_prefer_local_routing=True)
    with pytest.raises(RuntimeError, match="already been initialized"):
        h._init()
    other = serve.get_app_handle("hinit")
    derived = other.options(multiplexed_model_id="m")
    assert derived._router is other._router
    with pytest.raises(RuntimeError):
        derived._init()
    assert h.remote().result() == "hi"
    h.shutdown()
    assert h.remote().result() == "hi"  # a call after shutdown connects again
    asyncio.run(h.shutdown_async())


def test_blocking_calls_refused_in_a_deployments_event_loop(serve_url):
    from ember.serve.exceptions import RayServeException

    @serve.deployment(ray_actor_options=NO_CPU)
    def leaf(*args):
        return 1

    @serve.deployment(ray_actor_options=NO_CPU)
    def gen_leaf():
        yield 1

    @serve.deployment(ray_actor_options=NO_CPU)
    class Caller:
        def __init__(self, h, g):
            self.h, self.g = h, g.options(stream=True)

        async def __call__(self):
            out = []
            for blocking in (lambda: self.h.remote().result(),
                             lambda: next(iter(self.g.remote()))):
                try:
                    blocking()
                except RuntimeError as e:
                    out.append("asyncio" in str(e))
            try:
                await self.h.remote([self.h.remote()])
            except RayServeException as e:
                out.append("is not serializable" in str(e))
            out.append(await self.h.remote(self.h.remote()))  # top level: resolved
            return out

    h = serve.run(Caller.bind(leaf.bind(), gen_leaf.bind()), name="loop", route_prefix="/loop")
    assert h.remote().result() == [True, True, True, 1]


def test_by_reference_option_is_accepted_for_composition(serve_url):
    @serve.deployment(ray_actor_options=NO_CPU)
    class Echo:
        def __call__(self, a: str, b: str = "") -> str:
            return f"{a}|{b}"

    h = serve.run(Echo.bind(), name="byref", route_prefix="/byref")
    inner = h.options(_by_reference=False)
    assert h.options(_by_reference=True).remote(inner.remote("x"), b="y").result() == "x||y"


def test_cancel_during_assignment_never_reaches_the_replica(serve_url):
    from ember.serve.exceptions import RequestCancelledError

    @ember.remote(num_cpus=0)
    class Gate:
        def __init__(self):
            self.open, self.waiting = False, 0

        def wait(self):
            self.waiting += 1
            return self.open

        def release(self):
            self.open = True

        def waiters(self):
            return self.waiting

    gate = Gate.remote()

    @serve.deployment(ray_actor_options=NO_CPU, max_ongoing_requests=1)
    class Counted:
        def __init__(self):
            self.calls = 0

        async def __call__(self):
            self.calls += 1
            while not await gate.wait.remote():
                await asyncio.sleep(0.01)
            return self.calls

    h = serve.run(Counted.bind(), name="cassign", route_prefix="/cassign")
    first = h.remote()
    deadline = time.monotonic() + 20
    while ember.get(gate.waiters.remote()) == 0:  # the first call is running
        assert time.monotonic() < deadline, "the first call never started"
        time.sleep(0.02)
    queued = h.remote()
    queued.cancel()
    with pytest.raises(RequestCancelledError):
        queued.result()
    ember.get(gate.release.remote())
    assert first.result() == 1
    assert h.remote().result() == 2  # the cancelled request never ran


def test_cancelling_a_stream_interrupts_the_replicas_generator(serve_url):
    from ember.serve.exceptions import RequestCancelledError

    @ember.remote(num_cpus=0)
    class Flag:
        def __init__(self):
            self.value = False

        def set(self):
            self.value = True

        def get(self):
            return self.value

    flag = Flag.remote()

    @serve.deployment(ray_actor_options=NO_CPU)
    class Streamer:
        async def __call__(self):
            yield "hi"
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                await flag.set.remote()
                raise

    g = serve.run(Streamer.bind(), name="gcancel", route_prefix="/gcancel").options(
        stream=True).remote()
    assert next(g) == "hi"
    g.cancel()
    with pytest.raises(RequestCancelledError):
        next(g)
    deadline = time.monotonic() + 20
    while not ember.get(flag.get.remote()):  # the generator saw the cancellation
        assert time.monotonic() < deadline, "the replica's generator was not cancelled"
        time.sleep(0.02)


def test_stream_converts_to_an_object_ref_generator(serve_url):
    @serve.deployment(ray_actor_options=NO_CPU)
    def numbers():
        yield from range(5)

    h = serve.run(numbers.bind(), name="refgen", route_prefix="/refgen").options(stream=True)
    assert ember.get(list(h.remote()._to_object_ref_gen_sync())) == list(range(5))
