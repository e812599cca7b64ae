"""Node labels and label selectors (Ray's `label_selector` and `fallback_strategy`):
checked where the task or actor is declared, enforced when it is placed, on one node and
across node processes; work no node matches waits without holding up other work."""

from __future__ import annotations

import pytest

import ember
from ember.cluster_utils import Cluster


@pytest.mark.parametrize("selector", [
    {"ray.io/market-type": "spot", "ray.io/accelerator-type": "H100"},
    {"ray.io/market-type": "!spot"},
    {"ray.io/accelerator-type": "in(H100, B200, TPU)"},
    {"ray.io/accelerator-type": "!in(H100, B200)"},
])
def test_valid_selectors_are_accepted(selector):
    @ember.remote(label_selector=selector)
    class Actor:
        pass

    @ember.remote(label_selector=selector)
    def task():
        pass


@pytest.mark.parametrize("selector, error", [
    ("", TypeError),
    ({"r!a!y.io/market_type": "spot"}, ValueError),
    ({"??==ags!": "true"}, ValueError),
    ({"zone": "??==ags!"}, ValueError),
    ({"zone": "matches(TPU)"}, ValueError),
    ({"zone": "in(H100,, B200)"}, ValueError),
    ({"zone": "in(TPU, H100"}, ValueError),
])
def test_invalid_selectors_fail_at_declaration(selector, error):
    with pytest.raises(error):
        @ember.remote(label_selector=selector)
        class Actor:
            pass

    with pytest.raises(error):
        @ember.remote(label_selector=selector)
        def task():
            pass


@pytest.mark.parametrize("fallback, error", [
    ([{"label_selector": {"zone": "a"}}], None),
    ([{"memory": "1Gi"}], ValueError),
    ({"label_selector": {"zone": "a"}}, TypeError),
    ([{}], ValueError),
    ([{"label_selector": {"zone": "in(a,"}}], ValueError),
])
def test_fallback_strategy_is_checked(fallback, error):
    def declare():
        @ember.remote(fallback_strategy=fallback)
        def task():
            pass

    if error is None:
        declare()
    else:
        with pytest.raises(error):
            declare()


def test_node_labels_are_checked():
    with pytest.raises(ValueError, match="label"):
        ember.init(num_cpus=1, labels={"bad key!": "x"})
    assert not ember.is_initialized()


def test_selectors_on_one_node(shutdown_after):
    ember.init(num_cpus=2, labels={"zone": "a", "tier": "gold"})
    labels = ember.get_runtime_context().get_node_labels()
    assert labels["zone"] == "a" and labels["ray.io/node-id"] == ember.get_runtime_context(
        ).get_node_id()
    assert ember.nodes()[0]["Labels"]["tier"] == "gold"

    @ember.remote
    def ping():
        return "ran"

    never = ping.options(label_selector={"zone": "!a"}).remote()
    # Work that waits for a node with other labels does not hold up the rest.
    assert ember.get(ping.options(label_selector={"zone": "a", "tier": "in(gold, silver)"})
                     .remote(), timeout=30) == "ran"
    assert ember.get(ping.remote(), timeout=30) == "ran"
    assert ember.get(ping.options(label_selector={"zone": "in(b, c)"},
                                  fallback_strategy=[{"label_selector": {"zone": "a"}}])
                     .remote(), timeout=30) == "ran"
    ready, _ = ember.wait([never], timeout=0.5)
    assert ready == []
    ember.cancel(never)


@pytest.fixture(scope="module")
def labelled_cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "labels": {"zone": "a"}})
    c.add_node(num_cpus=1, labels={"zone": "b", "ray.io/accelerator-type": "H100"})
    c.connect()
    yield c
    c.shutdown()


def test_selectors_choose_nodes_across_a_cluster(labelled_cluster):
    by_zone = {n["Labels"]["zone"]: n["NodeID"] for n in ember.nodes()}
    assert set(by_zone) == {"a", "b"}

    @ember.remote(num_cpus=1)
    def node():
        return ember.get_runtime_context().get_node_id()

    for _ in range(3):
        assert ember.get(node.options(label_selector={"zone": "b"}).remote(),
                         timeout=60) == by_zone["b"]
        assert ember.get(node.options(label_selector={"zone": "!b"}).remote(),
                         timeout=60) == by_zone["a"]
    assert ember.get(node.options(label_selector={"ray.io/accelerator-type": "H100"})
                     .remote(), timeout=60) == by_zone["b"]
    assert ember.get(node.options(label_selector={"ray.io/node-id": by_zone["a"]})
                     .remote(), timeout=60) == by_zone["a"]

    @ember.remote(num_cpus=0, label_selector={"zone": "b"})
    class Pinned:
        def node(self):
            return ember.get_runtime_context().get_node_id()

    actors = [Pinned.remote() for _ in range(2)]
    assert ember.get([a.node.remote() for a in actors], timeout=60) == [by_zone["b"]] * 2
    fallback = Pinned.options(label_selector={"zone": "c"},
                              fallback_strategy=[{"label_selector": {"zone": "a"}}]).remote()
    assert ember.get(fallback.node.remote(), timeout=60) == by_zone["a"]
    for a in [*actors, fallback]:
        ember.kill(a)


def test_connecting_refuses_options_of_a_new_cluster(shutdown_after):
    for kwargs in ({"_system_config": {"object_timeout_milliseconds": 200}},
                   {"labels": {"zone": "a"}}):
        with pytest.raises(ValueError, match="cannot be passed when connecting"):
            ember.init(address="127.0.0.1:9", **kwargs)
        assert not ember.is_initialized()
