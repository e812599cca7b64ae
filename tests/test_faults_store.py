"""Object-store pressure: work whose spilled arguments cannot be restored now waits for
room (giving back its CPU meanwhile); work whose arguments can never fit together fails
with ObjectStoreFullError; nothing is left RUNNING and no resource leaks."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from waiting import wait_until

import ember
from ember.exceptions import ObjectStoreFullError
from ember.util import state

MB = 1024 * 1024


def _store_stats() -> dict:
    return state._rows("store", None, 1)[0]



def _idle_and_whole() -> bool:
    running = [t for t in state.list_tasks() if t["state"] == "RUNNING"]
    return not running and ember.available_resources().get("CPU") == 2.0


@ember.remote
def checksum(a):
    time.sleep(0.1)  # hold the argument a while, as real work would
    return int(a[0]), int(a[-1]), int(a[:: 4096].sum())


def _arrays(count: int, megabytes: int) -> list[np.ndarray]:
    n = megabytes * MB // 8
    return [np.full(n, i + 1, dtype=np.int64) for i in range(count)]


def test_eight_tasks_with_spilled_50mb_arguments_all_complete(shutdown_after):
    ember.init(object_store_memory=200 * MB, num_cpus=2)
    values = _arrays(8, 50)
    refs = [ember.put(v) for v in values]  # 400 MB into a 200 MB store: most are spilled
    assert _store_stats()["num_spilled"] >= 4
    outs = ember.get([checksum.remote(r) for r in refs], timeout=120)
    assert outs == [(i + 1, i + 1, int(v[:: 4096].sum())) for i, v in enumerate(values)]
    assert _store_stats()["restored_total"] >= 4
    wait_until(_idle_and_whole, "no task RUNNING and both CPUs free again")


def test_a_task_waits_for_room_without_holding_its_cpu(shutdown_after):
    ember.init(object_store_memory=200 * MB, num_cpus=2)
    refs = [ember.put(v) for v in _arrays(4, 60)]  # 240 MB: the first one is spilled
    held = [ember.get(r) for r in refs[1:]]  # the driver pins 180 MB
    waiting = checksum.remote(refs[0])  # its argument cannot come back while they are held
    assert ember.wait([waiting], timeout=0.5)[0] == []
    # It waits queued: no worker is stuck RUNNING and its CPU is free for other work.
    wait_until(_idle_and_whole, "the waiting task holds no CPU")
    assert ember.get(ember.remote(lambda: 41 + 1).remote(), timeout=60) == 42
    del held  # the driver lets go: the argument can be restored
    assert ember.get(waiting, timeout=60) == (1, 1, 1920)
    wait_until(_idle_and_whole, "no task RUNNING and both CPUs free again")


def test_a_get_inside_a_task_waits_for_room_and_lends_its_cpu(shutdown_after):
    ember.init(object_store_memory=200 * MB, num_cpus=2)
    refs = [ember.put(v) for v in _arrays(4, 60)]
    held = [ember.get(r) for r in refs[1:]]

    @ember.remote
    def fetch(boxed):
        return int(ember.get(boxed[0])[-1])  # a nested ref: fetched by the task itself

    waiting = fetch.remote([refs[0]])
    assert ember.wait([waiting], timeout=0.5)[0] == []
    wait_until(lambda: ember.available_resources().get("CPU") == 2.0,
                "the task lends its CPU while its get waits for room")
    del held
    assert ember.get(waiting, timeout=60) == 1
    wait_until(_idle_and_whole, "no task RUNNING and both CPUs free again")


def test_arguments_that_can_never_fit_together_fail_with_object_store_full(shutdown_after):
    ember.init(object_store_memory=200 * MB, num_cpus=2)
    a, b = (ember.put(v) for v in _arrays(2, 120))  # 240 MB: one of them is spilled

    @ember.remote
    def both(x, y):
        return int(x[0] + y[0])

    @ember.remote
    class Holder:
        def both(self, x, y):
            return int(x[0] + y[0])

    with pytest.raises(ObjectStoreFullError, match="capacity"):
        ember.get(both.remote(a, b), timeout=60)
    holder = Holder.remote()
    with pytest.raises(ObjectStoreFullError, match="capacity"):
        ember.get(holder.both.remote(a, b), timeout=60)
    with pytest.raises(ObjectStoreFullError, match="capacity"):
        ember.get([a, b], timeout=60)
    assert ember.get(both.remote(a, ember.put(np.ones(4)))) == 2  # one at a time fits
    assert ember.get(holder.both.remote(b, ember.put(np.ones(4)))) == 3
    ember.kill(holder)
    wait_until(_idle_and_whole, "no task RUNNING and both CPUs free again")


def test_a_small_spilled_argument_for_another_node_follows_once_there_is_room():
    from ember.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "object_store_memory": 200 * MB})
    try:
        cluster.add_node(num_cpus=1, resources={"far": 1})
        cluster.connect()
        def pinned(megabytes: float) -> np.ndarray:  # a view this driver keeps
            return ember.get(ember.put(np.zeros(int(megabytes * MB) // 8, dtype=np.int64)))

        held = [pinned(64) for _ in range(3)]
        small = ember.put(np.full(MB // 16, 7, dtype=np.int64))  # 0.5 MB: sent by copy
        held.append(pinned(7.75))  # the store is full of pinned views; the small value
        assert _store_stats()["num_spilled"] == 1  # went to disk to make room

        @ember.remote(resources={"far": 1})
        def total(a):
            return int(a.sum())

        ref = total.remote(small)  # no error: its value follows once it can be read
        assert ember.wait([ref], timeout=0.5)[0] == []
        del held
        assert ember.get(ref, timeout=60) == 7 * (MB // 16)
    finally:
        cluster.shutdown()


def test_a_worker_killed_while_writing_its_result_leaves_no_half_object(shutdown_after,
                                                                       tmp_path):
    ember.init(object_store_memory=200 * MB, num_cpus=1)
    marker = str(tmp_path / "crashed-once")

    @ember.remote(max_retries=1)
    def produce():
        from ember._core.caller import context

        client = context.current_client()
        if not os.path.exists(marker):  # the first attempt dies between create and seal
            open(marker, "w").close()

            def create_then_die(oid, ser):
                client.call("create_object", oid, ser.size)
                os._exit(1)

            client.write_to_store = create_then_die
        return np.full(MB, 3, dtype=np.int64)  # 8 MB: written into the store

    ref = produce.remote()
    out = ember.get(ref, timeout=60)  # the retry writes the same result object again
    assert os.path.exists(marker) and int(out[0]) == 3 and len(out) == MB
    del out, ref
    wait_until(lambda: _store_stats()["used_bytes"] == 0,
                "the dead attempt's unsealed object was dropped from the store")
