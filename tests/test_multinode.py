"""Several node processes: cross-node scheduling, argument and result transfer, node
failure, and nodes in separate network namespaces."""

from __future__ import annotations

import time

import numpy as np
import pytest

import ember
from ember.cluster_utils import Cluster
from ember.exceptions import TaskCancelledError, TaskUnschedulableError
from ember.util.scheduling_strategies import NodeAffinitySchedulingStrategy


@pytest.fixture(scope="module")
def two_nodes():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1, resources={"remote": 2})
    cluster.connect()
    yield cluster, worker
    cluster.shutdown()


@ember.remote
def node_id(x=None):
    return ember.get_runtime_context().get_node_id()


def test_nodes_and_resources_cover_the_cluster(two_nodes):
    cluster, worker = two_nodes
    ids = {n["NodeID"] for n in ember.nodes()}
    assert ids == {cluster.head_node.node_id, worker.node_id}
    total = ember.cluster_resources()
    assert total["CPU"] == 2 and total["remote"] == 2


def test_custom_resource_pins_work_to_the_node_that_has_it(two_nodes):
    _, worker = two_nodes
    assert ember.get(node_id.options(resources={"remote": 1}).remote()) == worker.node_id
    # No node can hold it: it waits (as in Ray) instead of failing at the call site.
    ref = node_id.options(resources={"remote": 5}).remote()
    assert ember.wait([ref], timeout=0.5) == ([], [ref])
    ember.cancel(ref)
    with pytest.raises(TaskCancelledError):
        ember.get(ref, timeout=30)


def test_large_arguments_and_results_cross_nodes(two_nodes):
    @ember.remote(resources={"remote": 1})
    def transform(a):
        return a * 3, ember.get_runtime_context().get_node_id()

    arr = np.arange(3_000_000, dtype=np.int64)  # 24 MB each way
    out, where = ember.get(transform.remote(arr))
    assert where == two_nodes[1].node_id
    assert out.dtype == np.int64 and out[-1] == 3 * arr[-1] and np.array_equal(out, arr * 3)

    @ember.remote(resources={"remote": 1})
    def make():
        return np.full(5_000_000, 7, dtype=np.int32)

    ref = make.remote()
    assert int(ember.get(ref).sum()) == 35_000_000


def test_spread_and_spillback_use_both_nodes(two_nodes):
    cluster, worker = two_nodes

    @ember.remote
    def slow():
        time.sleep(0.3)
        return ember.get_runtime_context().get_node_id()

    spread = ember.get([slow.options(scheduling_strategy="SPREAD").remote() for _ in range(4)])
    assert set(spread) == {cluster.head_node.node_id, worker.node_id}
    # DEFAULT: the head has one CPU; the others spill back to the worker node.
    default = ember.get([slow.remote() for _ in range(4)])
    assert set(default) == {cluster.head_node.node_id, worker.node_id}


def test_node_affinity(two_nodes):
    cluster, worker = two_nodes
    hard = NodeAffinitySchedulingStrategy(worker.node_id, soft=False)
    assert ember.get(node_id.options(scheduling_strategy=hard).remote()) == worker.node_id
    soft = NodeAffinitySchedulingStrategy("ff" * 14, soft=True)
    assert ember.get(node_id.options(scheduling_strategy=soft).remote()) in (
        cluster.head_node.node_id, worker.node_id)
    with pytest.raises(TaskUnschedulableError):  # as in Ray: at get, not at the call
        ember.get(node_id.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            "ff" * 14, soft=False)).remote(), timeout=30)


def test_actor_on_another_node_receives_ordered_calls(two_nodes):
    _, worker = two_nodes

    @ember.remote(resources={"remote": 1})
    class Counter:
        def __init__(self, start):
            self.n = start

        def add(self, k):
            self.n += k
            return self.n

        def where(self):
            return ember.get_runtime_context().get_node_id()

    c = Counter.remote(10)
    assert ember.get(c.where.remote()) == worker.node_id
    assert ember.get([c.add.remote(1) for _ in range(20)]) == list(range(11, 31))

    @ember.remote
    def call_from_a_task(handle):
        return ember.get(handle.add.remote(100))

    assert ember.get(call_from_a_task.remote(c)) == 130
    ember.kill(c)
    with pytest.raises(ember.exceptions.ActorDiedError):
        ember.get(c.add.remote(1))


@ember.remote
class Gate:
    def __init__(self):
        self.open = False

    def release(self):
        self.open = True

    def is_open(self):
        return self.open


@ember.remote(num_cpus=0)
def behind(gate, value):
    import time as _time

    while not ember.get(gate.is_open.remote()):
        _time.sleep(0.01)
    return value


@ember.remote(resources={"remote": 1})
def total_of(refs):
    return ember.get_runtime_context().get_node_id(), sum(int(np.sum(v)) for v in ember.get(refs))


@ember.remote(resources={"remote": 1})
def make_refs(n):
    return [ember.put(np.arange(n)), ember.put("small")]


def test_refs_nested_in_arguments_and_results_cross_nodes(two_nodes):
    _, worker = two_nodes
    ready = [ember.put(np.ones(200_000, dtype=np.int64)), ember.put(5)]
    where, total = ember.get(total_of.remote(ready), timeout=60)
    assert where == worker.node_id and total == 200_005

    # A nested ref that is not ready when the task leaves: its value follows it.
    gate = Gate.remote()
    late = behind.remote(gate, np.full(50_000, 2, dtype=np.int64))
    ref = total_of.remote([late])
    ready_now, _ = ember.wait([ref], timeout=0.5)
    assert ready_now == []
    ember.get(gate.release.remote())
    assert ember.get(ref, timeout=60) == (worker.node_id, 100_000)

    # Refs made on the worker node and returned inside a result.
    big, small = ember.get(make_refs.remote(300_000), timeout=60)
    assert ember.get(small) == "small"
    assert np.array_equal(ember.get(big), np.arange(300_000))


def test_actor_on_another_node_takes_nested_refs(two_nodes):
    @ember.remote(resources={"remote": 1})
    class Summer:
        def total(self, refs):
            return sum(int(np.sum(v)) for v in ember.get(refs))

    s = Summer.remote()
    refs = [ember.put(np.ones(100_000, dtype=np.int64)) for _ in range(3)]
    assert ember.get(s.total.remote(refs), timeout=60) == 300_000


def _held_by(cluster, node_id: str, oid: bytes) -> bool:
    """Whether the node still holds a copy of the object (asked over its node service)."""
    import grpc

    from ember._cluster import auth
    from ember._cluster.protos import node_pb2, node_pb2_grpc

    address = next(n.address for n in cluster._nodes() if n.node_id == node_id)
    with open(cluster._info["token_file"]) as f:
        md = auth.metadata(f.read().strip())
    with grpc.insecure_channel(address) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        try:
            for _ in stub.PullObject(node_pb2.PullRequest(object_id=oid, chunk_size=1 << 20),
                                     metadata=md, timeout=30):
                pass
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e
            return False
    return True


def _until(predicate, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def test_remote_copies_are_freed_once_pulled_or_unreferenced(two_nodes):
    cluster, worker = two_nodes
    from ember.util import state

    @ember.remote(resources={"remote": 1})
    def make_big(i):
        return np.full(1_000_000, i, dtype=np.int64)

    kept, dropped = make_big.remote(1), make_big.remote(2)
    assert _until(lambda: sum(t["state"] == "FINISHED" for t in state.list_tasks()
                              if t["name"].endswith("make_big")) == 2)
    # Both results stay on the worker node until wanted.
    assert _held_by(cluster, worker.node_id, kept.binary())
    assert _held_by(cluster, worker.node_id, dropped.binary())
    oid = dropped.binary()
    del dropped  # the last reference: the owner frees the remote copy
    assert _until(lambda: not _held_by(cluster, worker.node_id, oid))
    assert ember.get(kept)[0] == 1  # pulled to the head; the worker's copy goes
    assert _until(lambda: not _held_by(cluster, worker.node_id, kept.binary()))
    assert ember.get(kept)[-1] == 1


def test_streaming_generator_on_another_node(two_nodes):
    _, worker = two_nodes

    @ember.remote(num_returns="streaming", resources={"remote": 1})
    def stream(n):
        here = ember.get_runtime_context().get_node_id()
        for i in range(n):
            yield here, np.full(200_000 if i % 2 else 10, i, dtype=np.int64)

    items = [ember.get(ref) for ref in stream.remote(6)]
    assert [node for node, _ in items] == [worker.node_id] * 6
    assert [int(a[0]) for _, a in items] == list(range(6)) and len(items[1][1]) == 200_000

    @ember.remote(num_returns="streaming", resources={"remote": 1})
    def fails_after_one():
        yield 1
        raise ValueError("boom")

    gen = fails_after_one.remote()
    assert ember.get(next(gen)) == 1
    with pytest.raises(ValueError, match="boom"):
        ember.get(next(gen))


def test_every_node_offers_memory_as_a_resource(shutdown_after):
    """As on Ray's nodes: `memory` exists on cluster nodes too, so a placement group
    bundle or task asking for it can be placed."""
    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    try:
        cluster.connect()
        assert ember.cluster_resources().get("memory", 0) > 0
        pg = ember.util.placement_group([{"CPU": 2, "memory": 500}])
        assert ember.get(pg.ready(), timeout=60)

        @ember.remote
        def assigned():
            return ember.get_runtime_context().get_assigned_resources()

        strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
        got = ember.get(assigned.options(num_cpus=1, memory=100,
                                         scheduling_strategy=strategy).remote(), timeout=60)
        assert got == {"CPU": 1, "memory": 100}
    finally:
        cluster.shutdown()
