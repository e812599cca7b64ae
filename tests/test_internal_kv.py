"""ember.experimental.internal_kv (Ray's internal KV): one store seen by the driver, its
tasks and actors, on an embedded cluster and across the nodes of a cluster."""

from __future__ import annotations

import pytest

import ember
from ember.cluster_utils import Cluster
from ember.exceptions import RaySystemError
from ember.experimental import internal_kv as kv


def _exercise() -> None:
    """Every call, from the driver; a task and an actor then see and change the same keys."""
    assert kv._internal_kv_initialized()
    assert kv._internal_kv_get("count") is None and not kv._internal_kv_exists("count")
    assert kv._internal_kv_put("count", "1") is False  # it did not exist
    assert kv._internal_kv_put(b"count", b"2", overwrite=False) is True
    assert kv._internal_kv_get("count") == b"1"
    assert kv._internal_kv_put("count", "3") is True and kv._internal_kv_get("count") == b"3"
    kv._internal_kv_put("count", "in-ns", namespace="other")
    assert kv._internal_kv_get("count", namespace="other") == b"in-ns"

    @ember.remote(max_restarts=1)
    class Counter:
        def __init__(self) -> None:
            self.start = int(kv._internal_kv_get("count"))

        def bump(self) -> int:
            kv._internal_kv_put("count", str(self.start + 1))
            return self.start + 1

    @ember.remote
    def read(key: str) -> bytes | None:
        return kv._internal_kv_get(key)

    assert ember.get(Counter.remote().bump.remote()) == 4
    assert ember.get(read.remote("count")) == b"4"
    kv._internal_kv_put("count-b", "x")
    assert sorted(kv._internal_kv_list("count")) == [b"count", b"count-b"]
    assert kv._internal_kv_del("count", del_by_prefix=True) == 2
    assert ember.get(read.remote("count")) is None
    assert kv._internal_kv_get("count", namespace="other") == b"in-ns"
    assert kv._internal_kv_del("count", namespace="other") == 1
    with pytest.raises(TypeError, match="key must be str or bytes"):
        kv._internal_kv_get(3)  # type: ignore[arg-type]
    for call in (lambda: kv._internal_kv_put("@namespace_x", "v"),
                 lambda: kv._internal_kv_get("@namespace_", namespace="n"),
                 lambda: kv._internal_kv_list(b"@namespace_abc")):
        with pytest.raises(RaySystemError, match="can't start with @namespace_"):
            call()


def test_internal_kv_on_an_embedded_cluster(shutdown_after):
    ember.init(num_cpus=1)
    _exercise()


def test_internal_kv_is_shared_across_a_clusters_nodes():
    ember.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        cluster.add_node(num_cpus=1)
        cluster.connect()
        _exercise()
    finally:
        ember.shutdown()
        cluster.shutdown()
