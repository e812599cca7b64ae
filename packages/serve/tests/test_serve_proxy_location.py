"""ProxyLocation on a two-node cluster: EveryNode runs one HTTP proxy per node (also on a
node that joins later), each serving every application; HeadOnly one; Disabled none."""

from __future__ import annotations

import os
import time

import httpx
import pytest

import ember
from ember import serve
from ember.cluster_utils import Cluster
from ember.serve import ProxyLocation

NO_CPU = {"num_cpus": 0}


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def two_nodes():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    cluster.connect()
    yield cluster, worker
    cluster.shutdown()


def _status() -> dict:
    from ember.serve._client import get_controller

    return ember.get(get_controller().get_status.remote())


@serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 1})
class WhereAmI:
    async def __call__(self) -> str:
        return f"{ember.get_runtime_context().get_node_id()} {os.getpid()}"


def test_every_node_runs_a_proxy_that_serves_every_app(two_nodes):
    cluster, worker = two_nodes
    head_id = cluster.head_node.node_id
    serve.start(http_options={"host": "127.0.0.1", "port": 0},
                proxy_location=ProxyLocation.EveryNode)
    try:
        serve.run(WhereAmI.bind(), name="where", route_prefix="/where")
        addresses = wait_for(lambda: len(_status()["proxy_addresses"]) == 2
                             and _status()["proxy_addresses"], what="a proxy on each node")
        assert set(addresses) == {head_id, worker.node_id}
        assert _status()["proxy_address"] == addresses[head_id]
        assert set(serve.status().proxies) == {head_id, worker.node_id}
        for url in addresses.values():
            served_by = set()
            with httpx.Client(base_url=url, timeout=30) as c:
                assert c.get("/-/healthz").status_code == 200
                for _ in range(30):
                    r = c.get("/where")
                    assert r.status_code == 200
                    served_by.add(r.text.split()[0])
            # Both replicas (one per node) answer through each proxy: the local one over
            # its channel, the other by an actor call.
            assert served_by == {head_id, worker.node_id}

        # A node that joins gets its own proxy.
        third = cluster.add_node(num_cpus=0)
        url = wait_for(lambda: _status()["proxy_addresses"].get(third.node_id),
                       what="a proxy on the new node")
        assert httpx.get(url + "/where", timeout=30).status_code == 200
        cluster.remove_node(third)
        wait_for(lambda: third.node_id not in _status()["proxy_addresses"],
                 what="the departed node's proxy to be forgotten")
    finally:
        serve.shutdown()


def test_head_only_runs_one_proxy(two_nodes):
    cluster, _ = two_nodes
    serve.start(http_options={"host": "127.0.0.1", "port": 0},
                proxy_location=ProxyLocation.HeadOnly)
    try:
        status = _status()
        assert list(status["proxy_addresses"]) == [cluster.head_node.node_id]
        assert httpx.get(status["proxy_address"] + "/-/healthz").status_code == 200
    finally:
        serve.shutdown()


def test_disabled_runs_no_proxy_but_handles_work(two_nodes):
    serve.start(http_options={"host": "127.0.0.1", "port": 0},
                proxy_location=ProxyLocation.Disabled)
    try:
        h = serve.run(WhereAmI.bind(), name="where", route_prefix="/where")
        status = _status()
        assert status["proxy_addresses"] == {} and status["proxy_address"] is None
        assert serve.status().proxies == {}
        assert h.remote().result(timeout_s=30)
    finally:
        serve.shutdown()
