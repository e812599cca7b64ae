"""ember.util: ActorPool, Queue, multiprocessing.Pool, state, inspect_serializability."""

from __future__ import annotations

import threading
import time

import pytest

import ember
from ember.util import ActorPool, inspect_serializability, state
from ember.util.multiprocessing import Pool
from ember.util.queue import Empty, Full, Queue

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
class Doubler:
    def double(self, x):
        return 2 * x


def test_actor_pool_map_keeps_order():
    pool = ActorPool([Doubler.remote(), Doubler.remote()])
    assert list(pool.map(lambda a, v: a.double.remote(v), range(10))) == [2 * i for i in range(10)]


def test_actor_pool_map_unordered_and_submit():
    pool = ActorPool([Doubler.remote(), Doubler.remote()])
    assert sorted(pool.map_unordered(lambda a, v: a.double.remote(v), range(6))) == \
        [0, 2, 4, 6, 8, 10]
    for i in range(3):
        pool.submit(lambda a, v: a.double.remote(v), i)
    got = [pool.get_next() for _ in range(3)]
    assert got == [0, 2, 4] and not pool.has_next()


def test_queue_between_tasks():
    q = Queue(maxsize=10)

    @ember.remote
    def producer(queue, n):
        for i in range(n):
            queue.put(i)

    ember.get(producer.remote(q, 5))
    assert q.qsize() == 5
    assert [q.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert q.empty()
    with pytest.raises(Empty):
        q.get(block=False)
    with pytest.raises(Empty):
        q.get(timeout=0.1)
    q.put_nowait_batch([1, 2])
    assert q.get_nowait_batch(2) == [1, 2]
    q.shutdown()


def test_queue_full():
    q = Queue(maxsize=1)
    q.put(1)
    with pytest.raises(Full):
        q.put(2, block=False)
    with pytest.raises(Full):
        q.put(2, timeout=0.1)
    q.shutdown()


def _square(x):
    return x * x


def _add(a, b):
    return a + b


def test_pool_map_apply_starmap_imap():
    with Pool(processes=2) as pool:
        assert pool.map(_square, range(100)) == [i * i for i in range(100)]
        assert pool.apply(_add, (2, 3)) == 5
        assert pool.starmap(_add, [(1, 2), (3, 4)]) == [3, 7]
        assert list(pool.imap(_square, range(5))) == [0, 1, 4, 9, 16]
        assert sorted(pool.imap_unordered(_square, range(5))) == [0, 1, 4, 9, 16]
        res = pool.map_async(_square, range(10))
        assert res.get(timeout=10) == [i * i for i in range(10)] and res.successful()
        # Maps in flight together, one item per call: each keeps its own function.
        first = pool.map_async(_square, range(30), chunksize=1)
        second = pool.starmap_async(_add, [(i, 100) for i in range(30)], chunksize=1)
        third = pool.map_async(lambda x: -x, range(30), chunksize=1)
        assert first.get(timeout=10) == [i * i for i in range(30)]
        assert second.get(timeout=10) == [i + 100 for i in range(30)]
        assert third.get(timeout=10) == [-i for i in range(30)]


def test_pool_callbacks_and_errors():
    done = threading.Event()
    got = []

    def cb(value):
        got.append(value)
        done.set()

    def boom(x):
        raise ZeroDivisionError("x")

    with Pool(processes=1) as pool:
        pool.apply_async(_square, (4,), callback=cb)
        assert done.wait(10) and got == [16]
        with pytest.raises(ZeroDivisionError):
            pool.map(boom, [1])


def test_state_lists():
    @ember.remote
    def named_task():
        return 1

    ember.get(named_task.options(name="named_task").remote())
    d = Doubler.options(name="state-doubler").remote()
    ember.get(d.double.remote(1))
    tasks = state.list_tasks(filters=[("name", "=", "named_task")])
    assert tasks and tasks[-1]["state"] == "FINISHED"
    actors = state.list_actors(filters=[("name", "=", "state-doubler")])
    assert actors[0]["state"] == "ALIVE" and actors[0]["class_name"] == "Doubler"
    assert state.list_nodes()[0]["Alive"]
    assert state.summarize_tasks()["cluster"]["summary"]["named_task"]["state_counts"]


def test_inspect_serializability_names_the_culprit():
    lock = threading.Lock()

    def uses_lock():
        return lock

    ok, failures = inspect_serializability(uses_lock, name="uses_lock")
    assert not ok
    assert any("lock" in f[0] for f in failures)
    assert inspect_serializability(lambda: 1)[0]


def test_actor_pool_map_submits_eagerly_and_handles_multiple_returns(cluster):
    from ember.util import ActorPool

    @ember.remote(num_cpus=0)
    class Pair:
        @ember.method(num_returns=2)
        def bar(self):
            return 1, 2

        def double(self, x):
            return 2 * x

    pool = ActorPool([Pair.remote() for _ in range(2)])
    calls = []
    results = pool.map(lambda a, v: calls.append(v) or a.double.remote(v), range(5))
    assert calls == [0, 1]  # submitted before iterating (the rest wait for an actor)
    assert list(results) == [0, 2, 4, 6, 8]
    for _ in range(4):
        pool.submit(lambda a, v: a.bar.remote(), None)
    got = []
    while pool.has_next():
        got.append(pool.get_next(timeout=None))
    assert got == [[1, 2]] * 4
    for _ in range(3):
        pool.submit(lambda a, v: a.bar.remote(), None)
    assert [pool.get_next_unordered() for _ in range(3)] == [[1, 2]] * 3


def test_queue_async_calls_raise_queue_errors(cluster):
    import asyncio

    from ember.util.queue import Empty, Full, Queue

    async def scenario() -> None:
        q = Queue(1)
        await q.put_async(0, block=False)
        with pytest.raises(Full):
            await q.put_async(1, block=False)
        with pytest.raises(Full):
            await q.put_async(1, timeout=0.1)
        with pytest.raises(ValueError):
            await q.put_async(1, timeout=-1)
        assert await q.get_async(block=False) == 0
        with pytest.raises(Empty):
            await q.get_async(block=False)
        with pytest.raises(Empty):
            await q.get_async(timeout=0.1)
        with pytest.raises(ValueError):
            await q.get_async(timeout=-1)

    asyncio.run(scenario())


def test_failed_tasks_are_listed_failed_with_their_error(cluster):
    from ember.util import state

    @ember.remote(max_retries=0)
    def broken_task():
        raise KeyError("missing key 42")

    with pytest.raises(KeyError):
        ember.get(broken_task.options(name="broken_task").remote())
    deadline = time.monotonic() + 30
    rows: list = []
    while not rows and time.monotonic() < deadline:
        rows = [t for t in state.list_tasks(filters=[("name", "=", "broken_task")])
                if t["state"] == "FAILED"]
        time.sleep(0.05)
    assert rows, "the failed task is not listed as FAILED"
    assert rows[0]["error_type"] == "KeyError"
    assert "missing key 42" in rows[0]["error_message"]
    assert "Traceback" in rows[0]["error_message"]
