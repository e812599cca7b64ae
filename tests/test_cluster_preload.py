"""A cluster_utils.Cluster as Ray's: the head's `_system_config` preload_python_modules
hold on every node, and the first remote call before init() joins the cluster the
process started (Ray's auto-init)."""

from __future__ import annotations

import pytest

import ember
from ember.cluster_utils import Cluster


@pytest.fixture
def preloading_cluster():
    ember.shutdown()
    cluster = Cluster()
    cluster.add_node(num_cpus=1, _system_config={
        "preload_python_modules": ["html.parser", "no_such_module_to_preload"]})
    cluster.add_node(num_cpus=1, resources={"second": 1})
    yield cluster
    ember.shutdown()
    cluster.shutdown()


def test_head_system_config_preloads_modules_on_every_node(preloading_cluster):
    @ember.remote(num_cpus=1)
    def loaded():
        import sys

        return ("html.parser" in sys.modules, "no_such_module_to_preload" in sys.modules,
                ember.get_runtime_context().get_node_id())

    # No init(): the call joins the cluster started above instead of starting one.
    head = ember.get(loaded.remote())
    second = ember.get(loaded.options(resources={"second": 1}).remote())
    assert head[:2] == second[:2] == (True, False)
    nodes = {n.node_id for n in preloading_cluster.list_all_nodes()}
    assert {head[2], second[2]} == nodes
    assert preloading_cluster.connected


def test_a_bad_preload_list_is_refused():
    cluster = Cluster()
    try:
        with pytest.raises(TypeError, match="preload_python_modules"):
            cluster.add_node(_system_config={"preload_python_modules": "html.parser"})
    finally:
        cluster.shutdown()
