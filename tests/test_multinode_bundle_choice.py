"""Which nodes a placement group's bundles go to on a cluster of node processes, as Ray's
bundle policies choose: the node left with the most room, scarce (GPU) bundles first,
STRICT_PACK's soft target node, and bundle label selectors."""

from __future__ import annotations

import time

import pytest

import ember
from ember.cluster_utils import Cluster
from ember.ids import NodeID
from ember.util.placement_group import (
    placement_group,
    placement_group_table,
    remove_placement_group,
)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True,
                head_node_args={"num_cpus": 4, "labels": {"region": "east"}})
    c.add_node(num_cpus=2, labels={"region": "west"})
    c.add_node(num_cpus=1, num_gpus=1, labels={"region": "north"})
    c.connect()
    deadline = time.time() + 30
    while len(ember.nodes()) < 3 or ember.cluster_resources().get("CPU") != 7:
        assert time.time() < deadline, "the head did not learn of its peers"
        time.sleep(0.05)
    yield c
    c.shutdown()


def nodes_of(pg):
    assert ember.get(pg.ready(), timeout=30) == pg
    return list(placement_group_table(pg)["bundles_to_node_id"].values())


def test_strict_pack_goes_where_most_room_is_left_or_to_its_soft_target(cluster):
    head, west, north = (cluster.head_node.node_id, *(n.node_id for n in cluster.worker_nodes))
    two = [{"CPU": 1}, {"CPU": 1}]
    for target, expected in [(None, head), (west, west), (north, head),
                             (NodeID.from_random().hex(), head)]:
        pg = placement_group(two, strategy="STRICT_PACK", _soft_target_node_id=target)
        assert nodes_of(pg) == [expected, expected], target
        remove_placement_group(pg)


def test_pack_places_the_gpu_bundle_first(cluster):
    north = cluster.worker_nodes[1].node_id
    pg = placement_group([{"CPU": 1}, {"CPU": 2}, {"CPU": 1, "GPU": 1}], strategy="PACK")
    nodes = nodes_of(pg)
    assert nodes[2] == north and north not in nodes[:2]
    remove_placement_group(pg)


def test_bundle_label_selectors_choose_the_nodes(cluster):
    west, north = (n.node_id for n in cluster.worker_nodes)
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK",
                         bundle_label_selector=[{"region": "west"}, {"region": "north"}])
    assert nodes_of(pg) == [west, north]
    remove_placement_group(pg)

    full = placement_group([{"CPU": 1}, {"CPU": 1}],
                           bundle_label_selector=[{"region": "north"}] * 2)
    assert not full.wait(0.5)  # north has one CPU
    assert placement_group_table(full)["stats"]["scheduling_state"] == "NO_RESOURCES"
    remove_placement_group(full)

    nowhere = placement_group([{"CPU": 1}], bundle_label_selector=[{"region": "south"}])
    assert not nowhere.wait(0.2)
    assert placement_group_table(nowhere)["stats"]["scheduling_state"] == "INFEASIBLE"
    remove_placement_group(nowhere)
