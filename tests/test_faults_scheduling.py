"""Scheduling faults: work that becomes infeasible waits for a fitting node, work pinned
to a dead node fails with Ray's unschedulable errors, and neither disturbs other work."""

from __future__ import annotations

import os
import time

import pytest
from waiting import wait_until

import ember
from ember.cluster_utils import Cluster
from ember.exceptions import (
    ActorUnschedulableError,
    TaskPlacementGroupRemoved,
    TaskUnschedulableError,
)
from ember.util.scheduling_strategies import NodeAffinitySchedulingStrategy


def test_a_request_no_node_can_hold_waits_with_a_warning(shutdown_after, caplog):
    ember.init(num_cpus=1)

    @ember.remote
    def submit_nested():
        return square.options(resources={"accel": 1}).remote(3)

    direct = square.options(resources={"accel": 1}).remote(2)  # no error at the call
    nested = ember.get(submit_nested.remote(), timeout=60)  # nor from inside a task
    assert ember.wait([direct, nested], num_returns=2, timeout=0.5)[0] == []
    assert any("'accel'" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)
    assert ember.get(square.remote(5), timeout=60) == 25  # the node keeps serving
    for ref in (direct, nested):
        ember.cancel(ref)
        with pytest.raises(ember.exceptions.TaskCancelledError):
            ember.get(ref, timeout=60)


def test_tasks_queued_in_a_removed_placement_group_fail(shutdown_after, tmp_path):
    from ember.util import state
    from ember.util.placement_group import placement_group, remove_placement_group
    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    @ember.remote
    def hold_until(path):
        while not os.path.exists(path):
            time.sleep(0.02)
        return "released"

    ember.init(num_cpus=2)
    pg = placement_group([{"CPU": 1}])
    assert pg.wait(30)
    in_group = PlacementGroupSchedulingStrategy(pg)
    marker = tmp_path / "go"
    holder = hold_until.options(scheduling_strategy=in_group).remote(str(marker))
    queued = [square.options(scheduling_strategy=in_group).remote(i) for i in range(3)]
    wait_until(lambda: any(t["name"].endswith("hold_until") and t["state"] == "RUNNING"
                            for t in state.list_tasks()), "the holder runs in the bundle")
    remove_placement_group(pg)  # the others wait behind it for the bundle's only CPU
    for ref in queued:
        with pytest.raises(TaskPlacementGroupRemoved, match="removed"):
            ember.get(ref, timeout=60)
    # As in Ray, removing the group also ends the work running in it.
    with pytest.raises(TaskPlacementGroupRemoved):
        ember.get(holder, timeout=60)
    assert ember.get(square.remote(4), timeout=60) == 16


@pytest.fixture(scope="module")
def cluster():
    """A head and a plain node (1 CPU each); tests add and kill nodes of their own."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1)
    c.connect()
    yield c
    c.shutdown()


@ember.remote
def square(x):
    return x * x


@ember.remote
def slow_square(x):
    time.sleep(0.3)
    return x * x


@ember.remote
class Where:
    def node(self):
        return ember.get_runtime_context().get_node_id()



def _alive(node_id: str) -> bool:
    return any(n["NodeID"] == node_id and n["Alive"] for n in ember.nodes())


def _kill(cluster: Cluster, node) -> None:
    cluster.remove_node(node, allow_graceful=False)
    wait_until(lambda: not _alive(node.node_id), "the head saw the node die")


def test_tasks_that_lose_the_only_node_with_their_resource_wait_for_a_new_one(cluster):
    special = cluster.add_node(num_cpus=1, resources={"special": 1})
    wait_until(lambda: _alive(special.node_id), "the head saw the new node")
    task = slow_square.options(resources={"special": 1})
    refs = [task.remote(i) for i in range(6)]
    assert ember.get(refs[0], timeout=60) == 0  # they run there, one at a time
    _kill(cluster, special)  # the others are queued or running there
    # Other work of the same driver is unaffected: no error escapes .remote() or get.
    assert ember.get([square.remote(i) for i in range(4)], timeout=60) == [0, 1, 4, 9]
    # The infeasible ones stay pending (no error is stored for them)...
    ready, _ = ember.wait(refs[1:], num_returns=len(refs) - 1, timeout=1)
    assert ready == []
    # ...and run once a node with the resource joins.
    again = cluster.add_node(num_cpus=1, resources={"special": 1})
    assert ember.get(refs, timeout=60) == [i * i for i in range(6)]
    _kill(cluster, again)


def test_work_submitted_after_the_only_node_with_a_resource_died_waits(cluster, capfd):
    special = cluster.add_node(num_cpus=1, resources={"later": 1})
    wait_until(lambda: _alive(special.node_id), "the head saw the new node")
    _kill(cluster, special)
    ref = square.options(resources={"later": 1}).remote(7)  # no error at the call site
    warning = capfd.readouterr().err  # the head warns this (attached) driver
    assert "warning" in warning and "'later'" in warning and "pending" in warning
    actor = Where.options(resources={"later": 1}).remote()
    call = actor.node.remote()
    assert ember.get(square.remote(3), timeout=60) == 9
    ready, _ = ember.wait([ref, call], num_returns=2, timeout=1)
    assert ready == []
    again = cluster.add_node(num_cpus=2, resources={"later": 2})  # the actor holds one
    assert ember.get(ref, timeout=60) == 49
    assert ember.get(call, timeout=60) == again.node_id
    ember.kill(actor)
    _kill(cluster, again)


def test_hard_affinity_to_a_dead_node_fails_with_unschedulable_errors(cluster):
    target = cluster.add_node(num_cpus=1)
    wait_until(lambda: _alive(target.node_id), "the head saw the new node")
    hard = NodeAffinitySchedulingStrategy(target.node_id, soft=False)
    soft = NodeAffinitySchedulingStrategy(target.node_id, soft=True)
    placed = Where.options(scheduling_strategy=hard, max_restarts=1).remote()
    assert ember.get(placed.node.remote(), timeout=60) == target.node_id
    queued = [slow_square.options(scheduling_strategy=hard).remote(i) for i in range(4)]
    soft_refs = [slow_square.options(scheduling_strategy=soft).remote(i) for i in range(2)]
    _kill(cluster, target)
    for ref in queued:  # whether it was running or queued there, it cannot run elsewhere
        with pytest.raises(TaskUnschedulableError, match=target.node_id):
            ember.get(ref, timeout=60)
    assert ember.get(soft_refs, timeout=60) == [0, 1]  # soft affinity falls back
    # The actor restarts (max_restarts=1) but may live only on the dead node.
    with pytest.raises(ActorUnschedulableError, match=target.node_id):
        ember.get(placed.node.remote(), timeout=60)
    late = Where.options(scheduling_strategy=hard).remote()
    with pytest.raises(ActorUnschedulableError):
        ember.get(late.node.remote(), timeout=60)
    with pytest.raises(TaskUnschedulableError):
        ember.get(square.options(scheduling_strategy=hard).remote(1), timeout=60)
    assert ember.get([square.remote(i) for i in range(3)], timeout=60) == [0, 1, 4]
