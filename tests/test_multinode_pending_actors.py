"""Actors that wait for room on a peer start once the peer reports it free, also when
nothing else is queued (right after placement groups on peers were removed)."""

from __future__ import annotations

import time

import ember
from ember.cluster_utils import Cluster
from ember.util.placement_group import placement_group, remove_placement_group
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@ember.remote(num_cpus=0, num_gpus=1)
def use_a_gpu():
    return True


@ember.remote(num_cpus=1, num_gpus=4)
class WholeNode:
    def ready(self):
        return True


def test_actors_wait_for_peers_to_free_removed_groups_then_start():
    """Groups on every node are removed, and actors that each need a whole node are
    created at once: a peer may not have freed its bundles yet when the head asks it, so
    an actor waits, and must start once the peer reports the room free."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 4})
    try:
        for _ in range(2):
            c.add_node(num_cpus=1, num_gpus=4)
        c.connect()
        deadline = time.time() + 30
        while ember.cluster_resources().get("GPU") != 12:
            assert time.time() < deadline, "the head did not learn of its peers"
            time.sleep(0.05)
        for _ in range(6):
            pgs = [placement_group([{"GPU": 2}, {"GPU": 2}]) for _ in range(3)]
            work = [use_a_gpu.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
                pg, placement_group_bundle_index=i)).remote() for pg in pgs for i in (0, 1)]
            assert all(ember.get(work, timeout=30))
            for pg in pgs:
                remove_placement_group(pg)
            actors = [WholeNode.remote() for _ in range(3)]
            assert ember.get([a.ready.remote() for a in actors], timeout=30) == [True] * 3
            for a in actors:
                ember.kill(a)
    finally:
        ember.shutdown()
        c.shutdown()
