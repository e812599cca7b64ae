"""Where default actors go in a cluster: as in Ray, an actor that holds no resources for
its life (no num_cpus/resources given) goes to a random node with 1 CPU free, so such
actors spread over the nodes instead of all landing on their creator's node. Tasks, and
actors that hold resources, keep preferring the submitter's node."""

from __future__ import annotations

import pytest

import ember
from ember.cluster_utils import Cluster


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1)
    c.connect()
    yield c
    c.shutdown()


@ember.remote
class Default:
    def node(self) -> str:
        return ember.get_runtime_context().get_node_id()


@ember.remote(num_cpus=1)
def task_node() -> str:
    return ember.get_runtime_context().get_node_id()


def test_default_actors_spread_over_the_nodes(cluster):
    nodes = {cluster.head_node.node_id, cluster.worker_nodes[0].node_id}
    actors = [Default.remote() for _ in range(20)]
    placed = ember.get([a.node.remote() for a in actors], timeout=60)
    # Each actor goes to either node with even odds: all 20 on one node is a 2e-6 event.
    assert set(placed) == nodes


def test_tasks_stay_on_the_submitters_node_while_it_has_room(cluster):
    head = cluster.head_node.node_id
    assert [ember.get(task_node.remote(), timeout=60) for _ in range(5)] == [head] * 5


def test_actors_holding_a_cpu_stay_on_the_creators_node_while_it_has_room(cluster):
    head = cluster.head_node.node_id
    actor = Default.options(num_cpus=1).remote()
    assert ember.get(actor.node.remote(), timeout=60) == head
    ember.kill(actor)
