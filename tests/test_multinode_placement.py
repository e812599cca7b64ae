"""Placement groups across node processes: bundles reserved atomically on several nodes,
work scheduled into them, pending groups placed when a node joins, and groups placed again
when a node holding some of their bundles dies."""

from __future__ import annotations

import pytest
from waiting import wait_until

import ember
from ember.cluster_utils import Cluster
from ember.util.placement_group import (
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1)
    c.connect()
    yield c
    c.shutdown()


@ember.remote(num_cpus=1)
def where():
    return ember.get_runtime_context().get_node_id()


@ember.remote(num_cpus=1)
class Member:
    def node(self):
        return ember.get_runtime_context().get_node_id()


def in_bundle(pg, index):
    return PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=index)



def test_strict_spread_reserves_a_bundle_on_each_node(cluster):
    head, worker = cluster.head_node.node_id, cluster.worker_nodes[0].node_id
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD", name="spread2")
    assert ember.get(pg.ready(), timeout=30) == pg
    nodes = placement_group_table(pg)["bundles_to_node_id"]
    assert set(nodes.values()) == {head, worker}
    # Every CPU of the cluster is held by the group now.
    wait_until(lambda: ember.available_resources().get("CPU", 0) == 0)

    tasks = [where.options(scheduling_strategy=in_bundle(pg, i)).remote() for i in (0, 1)]
    assert ember.get(tasks, timeout=30) == [nodes[0], nodes[1]]
    members = [Member.options(scheduling_strategy=in_bundle(pg, i)).remote() for i in (0, 1)]
    assert ember.get([m.node.remote() for m in members], timeout=30) == [nodes[0], nodes[1]]
    # Work outside the group cannot take the reserved CPUs.
    ready, _ = ember.wait([where.remote()], timeout=0.5)
    assert ready == []

    remove_placement_group(pg)
    wait_until(lambda: ember.available_resources().get("CPU", 0) == 2)
    with pytest.raises(ember.exceptions.RayActorError):
        ember.get(members[1].node.remote(), timeout=30)


@ember.remote(num_cpus=0.5)
def parent_and_child():
    child = ember.remote(num_cpus=0.5)(lambda: ember.get_runtime_context().get_node_id())
    return ember.get_runtime_context().get_node_id(), ember.get(child.remote())


def test_children_of_a_task_in_a_bundle_on_a_peer_run_in_its_bundles(cluster):
    worker = cluster.worker_nodes[0].node_id
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert pg.wait(timeout_seconds=30)
    index = [i for i, n in placement_group_table(pg)["bundles_to_node_id"].items()
             if n == worker][0]
    strategy = PlacementGroupSchedulingStrategy(
        pg, placement_group_bundle_index=index, placement_group_capture_child_tasks=True)
    assert ember.get(parent_and_child.options(scheduling_strategy=strategy).remote(),
                     timeout=30) == (worker, worker)
    remove_placement_group(pg)
    wait_until(lambda: ember.available_resources().get("CPU", 0) == 2)


def test_a_group_that_does_not_fit_waits_and_is_placed_when_a_node_joins(cluster):
    pg = placement_group([{"CPU": 1}] * 3, strategy="STRICT_SPREAD")
    assert pg.wait(timeout_seconds=0.5) is False
    row = placement_group_table(pg)
    assert row["state"] == "PENDING" and "STRICT_SPREAD" in row["stats"]["pending_reason"]

    def reported():  # the control store learns of it with the next heartbeat
        client = cluster._client()
        try:
            return [g for g in client.placement_groups() if g.pg_id == pg.id.hex()]
        finally:
            client.close()

    assert wait_until(reported)[0].state == "PENDING"
    cluster.add_node(num_cpus=1)
    assert pg.wait(timeout_seconds=30) is True
    nodes = placement_group_table(pg)["bundles_to_node_id"]
    assert len(set(nodes.values())) == 3
    wait_until(lambda: reported()[0].state == "CREATED")
    remove_placement_group(pg)


def test_a_group_is_placed_again_when_a_node_holding_its_bundle_dies(cluster):
    a = cluster.add_node(num_cpus=0, resources={"slot": 1})
    cluster.add_node(num_cpus=0, resources={"slot": 1})
    pg = placement_group([{"slot": 1}, {"slot": 1}], strategy="STRICT_SPREAD")
    assert pg.wait(timeout_seconds=30) is True
    before = placement_group_table(pg)["bundles_to_node_id"]
    index = [i for i, n in before.items() if n == a.node_id][0]

    cluster.remove_node(a, allow_graceful=False)
    wait_until(lambda: placement_group_table(pg)["state"] == "RESCHEDULING")
    c = cluster.add_node(num_cpus=0, resources={"slot": 1})
    wait_until(lambda: placement_group_table(pg)["state"] == "CREATED")
    after = placement_group_table(pg)["bundles_to_node_id"]
    assert after[index] == c.node_id and a.node_id not in after.values()

    @ember.remote(num_cpus=0, resources={"slot": 0.5})
    def slot_node():
        return ember.get_runtime_context().get_node_id()

    ref = slot_node.options(scheduling_strategy=in_bundle(pg, index)).remote()
    assert ember.get(ref, timeout=30) == c.node_id
    remove_placement_group(pg)


def test_state_api_reports_the_node_an_actor_runs_on(cluster):
    from ember.util.state import get_actor

    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert pg.wait(60)
    members = [Member.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
        placement_group=pg, placement_group_bundle_index=i)).remote() for i in range(2)]
    where_they_run = ember.get([m.node.remote() for m in members], timeout=60)
    assert len(set(where_they_run)) == 2
    assert [get_actor(id=m._actor_id.hex()).node_id for m in members] == where_they_run
    for m in members:
        ember.kill(m)
    remove_placement_group(pg)
