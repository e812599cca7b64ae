"""@serve.batch: concurrent calls become one call on a list."""

from __future__ import annotations

import asyncio

import pytest

from ember import serve


def test_batches_fill_up_to_max_batch_size():
    sizes: list[int] = []

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=1.0)
    async def double(xs: list[int]) -> list[int]:
        sizes.append(len(xs))
        return [2 * x for x in xs]

    async def main() -> list[int]:
        return list(await asyncio.gather(*[double(i) for i in range(10)]))

    assert asyncio.run(main()) == [2 * i for i in range(10)]
    assert sizes[:2] == [4, 4] and sum(sizes) == 10


def test_a_lone_call_runs_after_the_wait_timeout():
    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def size(xs: list[int]) -> list[int]:
        return [len(xs)] * len(xs)

    assert asyncio.run(size(1)) == 1


def test_methods_several_arguments_and_errors():
    class Model:
        def __init__(self) -> None:
            self.calls = 0

        @serve.batch(max_batch_size=3, batch_wait_timeout_s=0.5)
        async def predict(self, xs: list[int], scale: list[int]) -> list[int]:
            self.calls += 1
            return [x * s for x, s in zip(xs, scale, strict=True)]

        @serve.batch(max_batch_size=2, batch_wait_timeout_s=0.5)
        async def broken(self, xs: list[int]) -> list[int]:
            return [1]

    m = Model()

    async def main() -> tuple:
        ok = await asyncio.gather(m.predict(1, scale=10), m.predict(2, scale=10),
                                  m.predict(3, scale=1))
        bad = await asyncio.gather(m.broken(1), m.broken(2), return_exceptions=True)
        return ok, bad

    ok, bad = asyncio.run(main())
    assert list(ok) == [10, 20, 3] and m.calls == 1
    assert all(isinstance(e, TypeError) for e in bad)


def test_a_batch_may_return_any_sized_sequence():
    import numpy as np

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=0.5)
    async def double(xs: list[int]):
        return np.array(xs) * 2  # Ray's batching guide returns an ndarray

    @serve.batch(max_batch_size=2, batch_wait_timeout_s=0.5)
    async def text(xs: list[int]):
        return "ab"  # a string is one result, not one per call

    async def main() -> tuple:
        ok = await asyncio.gather(*[double(i) for i in range(4)])
        bad = await asyncio.gather(text(1), text(2), return_exceptions=True)
        return ok, bad

    ok, bad = asyncio.run(main())
    assert [int(v) for v in ok] == [0, 2, 4, 6]
    assert all(isinstance(e, TypeError) for e in bad)


def test_streaming_batches():
    @serve.batch(max_batch_size=2, batch_wait_timeout_s=0.5)
    async def tokens(prompts: list[str]):
        for i in range(3):
            yield [f"{p}{i}" if not (p == "short" and i == 2) else StopIteration
                   for p in prompts]

    async def collect(p: str) -> list[str]:
        return [t async for t in tokens(p)]

    async def main() -> list:
        return list(await asyncio.gather(collect("long"), collect("short")))

    assert asyncio.run(main()) == [["long0", "long1", "long2"], ["short0", "short1"]]


def test_settings_can_change_and_are_checked():
    with pytest.raises(ValueError):
        serve.batch(max_batch_size=0)
    with pytest.raises(TypeError):
        serve.batch(lambda xs: xs)

    @serve.batch(max_batch_size=2)
    async def f(xs: list[int]) -> list[int]:
        return xs

    f.set_max_batch_size(5)
    f.set_batch_wait_timeout_s(0.2)
    assert f._get_max_batch_size() == 5 and f._get_batch_wait_timeout_s() == 0.2


def test_batching_in_a_deployment(serve_url, cleanup_apps):
    @serve.deployment(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=16)
    class Batched:
        @serve.batch(max_batch_size=4, batch_wait_timeout_s=0.5)
        async def __call__(self, xs: list[int]) -> list[tuple[int, int]]:
            return [(x, len(xs)) for x in xs]

    h = serve.run(Batched.bind(), name="batched", route_prefix=None)
    results = [r.result() for r in [h.remote(i) for i in range(8)]]
    assert [x for x, _ in results] == list(range(8))
    assert max(n for _, n in results) == 4
