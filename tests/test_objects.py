"""Objects: put/get, zero-copy reads, wait, reference counting, spilling, store limits."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
from waiting import wait_until

import ember
from ember.util import state

pytestmark = pytest.mark.usefixtures("cluster")


def _object_ids() -> set[str]:
    return {o["object_id"] for o in state.list_objects()}



def test_put_get_roundtrip_of_python_values():
    values = [1, "s", b"b", None, [1, 2], {"a": (1, 2)}, {1, 2}, 3.5]
    assert ember.get([ember.put(v) for v in values]) == values


def test_numpy_arrays_are_read_zero_copy_and_read_only():
    arr = np.arange(2_000_000, dtype=np.int64)
    ref = ember.put(arr)
    out = ember.get(ref)
    assert not out.flags.owndata and not out.flags.writeable
    assert np.array_equal(out, arr)
    again = ember.get(ref)
    # Both reads view the same shared memory.
    assert out.__array_interface__["data"][0] == again.__array_interface__["data"][0]


def test_put_of_an_object_ref_is_refused():
    with pytest.raises(TypeError, match="ObjectRef"):
        ember.put(ember.put(1))


def test_get_rejects_non_refs():
    with pytest.raises(ValueError, match="ObjectRef"):
        ember.get(5)
    with pytest.raises(TypeError):
        ember.get([ember.put(1), 2])


def test_wait_returns_ready_first_and_respects_timeout():
    @ember.remote
    def sleep(s):
        time.sleep(s)
        return s

    fast = sleep.remote(0)
    slow = sleep.remote(3)
    ready, not_ready = ember.wait([slow, fast], num_returns=1, timeout=2)
    assert ready == [fast] and not_ready == [slow]
    ready, not_ready = ember.wait([slow], timeout=0)
    assert ready == [] and not_ready == [slow]
    ember.cancel(slow, force=True)


def test_wait_takes_exactly_num_returns_in_list_order():
    refs = [ember.put(i) for i in range(40)]
    ready, not_ready = ember.wait(refs, num_returns=3)
    assert ready == refs[:3] and not_ready == refs[3:]
    # A loop over the shrinking list: answered from what earlier waits learned.
    seen = list(ready)
    while not_ready:
        ready, not_ready = ember.wait(not_ready, num_returns=min(5, len(not_ready)))
        seen += ready
    assert seen == refs
    ready, not_ready = ember.wait(refs[::-1], num_returns=20)
    assert ready == refs[::-1][:20] and not_ready == refs[::-1][20:]
    with pytest.raises(TypeError, match="ObjectRefs"):
        ember.wait([refs[0], "x"])


def test_wait_argument_errors():
    r = ember.put(1)
    with pytest.raises(ValueError, match="unique"):
        ember.wait([r, r])
    with pytest.raises(ValueError, match="num_returns"):
        ember.wait([r], num_returns=2)


def test_object_is_freed_when_last_ref_is_dropped():
    ref = ember.put(np.zeros(1_000_000))
    oid = ref.hex()
    assert oid in _object_ids()
    del ref
    gc.collect()
    assert wait_until(lambda: oid not in _object_ids())


def test_borrowed_ref_keeps_object_alive_in_an_actor():
    @ember.remote
    class Keeper:
        def keep(self, box):
            self.box = box
            return True

        def read(self):
            return float(ember.get(self.box[0]).sum())

    k = Keeper.remote()
    ref = ember.put(np.ones(100_000))
    oid = ref.hex()
    assert ember.get(k.keep.remote([ref]))
    del ref
    gc.collect()
    time.sleep(0.3)
    assert oid in _object_ids()
    assert ember.get(k.read.remote()) == 100_000.0
    del k
    assert wait_until(lambda: oid not in _object_ids())


def test_refs_inside_a_put_value_stay_alive_with_it():
    inner = ember.put("inner value")
    outer = ember.put({"ref": inner})
    del inner
    gc.collect()
    time.sleep(0.2)
    assert ember.get(ember.get(outer)["ref"]) == "inner value"


def test_task_results_freed_after_get_and_drop():
    @ember.remote
    def big():
        return np.ones(500_000)

    ref = big.remote()
    assert ember.get(ref).sum() == 500_000
    oid = ref.hex()
    del ref
    gc.collect()
    assert wait_until(lambda: oid not in _object_ids())


def test_await_and_future():
    import asyncio

    ref = ember.put(7)
    assert ref.future().result(timeout=5) == 7

    async def main():
        return await ref

    assert asyncio.run(main()) == 7


def test_as_future_mixes_with_coroutines(cluster):
    import asyncio

    @ember.remote
    def slow(x):
        return x * 2

    async def coro(x):
        await asyncio.sleep(0.01)
        return x

    async def main():
        refs = [slow.remote(i) for i in range(3)]
        gathered = await asyncio.gather(*[r.as_future() for r in refs], coro(7))
        done, _ = await asyncio.wait([slow.remote(5).as_future(),
                                      asyncio.ensure_future(coro(1))], timeout=30)
        return gathered, sorted(d.result() for d in done)

    assert asyncio.run(main()) == ([0, 2, 4, 7], [1, 10])


def test_refs_pickled_outside_ember_stay_pinned(cluster, tmp_path):
    """Ray's out-of-band serialization: a ref written with cloudpickle still reads after
    every in-process reference is gone."""
    import cloudpickle

    ref = ember.put({"hello": "world"})
    path = tmp_path / "external_store.pickle"
    path.write_bytes(cloudpickle.dumps(ref))
    del ref
    gc.collect()
    assert ember.get(cloudpickle.loads(path.read_bytes()), timeout=30) == {"hello": "world"}


def test_a_filling_store_makes_workers_collect_cycles(shutdown_after):
    """Ray's global GC: values kept alive only by reference cycles in a worker (whose
    automatic gc is off) are freed once the store is mostly full."""
    ember.shutdown()
    ember.init(num_cpus=1, object_store_memory=100 * 1024 * 1024)

    @ember.remote
    class Cycles:
        def __init__(self):
            self.collected = False
            gc.disable()

            def called(phase, info):
                self.collected = True

            gc.callbacks.append(called)

        def circular_ref(self):
            a, b = [], []
            a.append(b)
            b.append(a)
            b.append(ember.put(b"0" * (10 * 1024 * 1024)))
            a.append(ember.put(b"1" * (10 * 1024 * 1024)))
            return a

        def was_collected(self):
            return self.collected

    c = Cycles.remote()
    for _ in range(2):  # 40 % of the store: no collection yet
        ember.get(c.circular_ref.remote())
    assert not ember.get(c.was_collected.remote())
    for _ in range(2):  # 80 %
        ember.get(c.circular_ref.remote())
    deadline = time.monotonic() + 30
    while not ember.get(c.was_collected.remote()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ember.get(c.was_collected.remote())


def test_awaiting_a_ref_is_safe_to_cancel(cluster):
    """Cancelling an await of a ref (a timeout, a cancelled task) leaves the ref usable:
    later awaits and gets return its value, and nothing is logged about the cancelled one."""
    import asyncio

    @ember.remote
    def slow(x):
        import time

        time.sleep(0.5)
        return x

    async def main():
        ref = slow.remote(7)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ref, 0.05)
        waiter = asyncio.ensure_future(ref)
        await asyncio.sleep(0)
        waiter.cancel()
        results = await asyncio.gather(ref, ref.as_future())
        return results, ember.get(ref)

    loop = asyncio.new_event_loop()
    errors = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    try:
        assert loop.run_until_complete(main()) == ([7, 7], 7)
    finally:
        loop.close()
    assert errors == []
