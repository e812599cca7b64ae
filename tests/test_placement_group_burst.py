"""Many placement groups made at once by tasks on a cluster of node processes.

Each group a node creates or removes is a row it stores in the control store. A burst of
them must not hold up the node's heartbeats: a node that misses them for the cluster's
`dead_after` (2 s in `cluster_utils`) is declared dead while it still runs, its peers drop
the bundles they hold for its groups, and the tasks it sent into those bundles never
finish.
"""

from __future__ import annotations

import pytest
from waiting import wait_until

import ember
from ember.cluster_utils import Cluster
from ember.util.placement_group import placement_group, remove_placement_group
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

NODES = 3


@pytest.fixture
def cluster():
    c = Cluster()
    for _ in range(NODES):
        c.add_node(num_cpus=1, resources={"slot": 1000})
    c.wait_for_nodes()
    ember.init(address=c.address)
    yield c
    ember.shutdown()
    c.shutdown()


@ember.remote(num_cpus=0, resources={"slot": 1})
def in_bundle() -> str:
    return ember.get_runtime_context().get_node_id()


@ember.remote(num_cpus=0)
def launcher(groups: int) -> list[int]:
    """Make `groups` STRICT_SPREAD groups, run a task in each bundle, remove them."""
    pgs = [placement_group([{"slot": 1}] * NODES, strategy="STRICT_SPREAD")
           for _ in range(groups)]
    refs = [in_bundle.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
        placement_group=pg, placement_group_bundle_index=i)).remote()
        for pg in pgs for i in range(NODES)]
    nodes = ember.get(refs, timeout=60)
    for pg in pgs:
        remove_placement_group(pg)
    # Each group had one bundle on every node.
    return [len(set(nodes[i:i + NODES])) for i in range(0, len(nodes), NODES)]


def test_concurrent_submitters_of_many_groups_all_finish(cluster):
    node_ids = {n.node_id for n in [cluster.head_node, *cluster.worker_nodes]}
    spread = ember.get([launcher.remote(150) for _ in range(3)], timeout=90)
    assert [set(s) for s in spread] == [{NODES}] * 3
    # No node was declared dead meanwhile (it would have come back as the same id, but
    # the bundles its peers held for it would be gone).
    alive = {n["NodeID"] for n in ember.nodes() if n["Alive"]}
    assert alive == node_ids
    # Every bundle is given back.
    wait_until(lambda: ember.available_resources().get("slot") == 1000 * NODES)
