"""ember.serve.metrics (Ray's `ray.serve.metrics`): a replica's metrics carry the
deployment, replica and application tags (and the route) on the /metrics endpoint."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import ember
from ember import serve
from ember.serve import metrics


@pytest.fixture(scope="module")
def scrape(serve_starter):
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    url = serve_starter()
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read()
    client = httpx.Client(base_url=info["dashboard_url"], timeout=30,
                          headers={"Authorization": f"Bearer {token}"})

    def samples() -> dict:
        out = {}
        for fam in text_string_to_metric_families(client.get("/metrics").text):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    samples.url = url  # type: ignore[attr-defined]
    yield samples
    client.close()
    serve.shutdown()
    ember.shutdown()


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Counted:
    def __init__(self) -> None:
        self.counter = metrics.Counter("served_odd", description="Odd requests.",
                                       tag_keys=("model", "route"))
        self.counter.set_default_tags({"model": "123"})
        self.replica = serve.get_replica_context().replica_id

    def __call__(self) -> str:
        self.counter.inc()
        return self.replica


def test_replica_metrics_carry_serve_tags(scrape):
    serve.run(Counted.bind(), name="metered", route_prefix="/metered")
    replica = [httpx.get(f"{scrape.url}/metered", timeout=30).text for _ in range(3)][0]
    want = ("ray_served_odd_total", tuple(sorted({
        "deployment": "Counted", "replica": replica, "application": "metered",
        "model": "123", "route": "/metered"}.items())))
    deadline = time.monotonic() + 20
    while scrape().get(want) != 3:
        assert time.monotonic() < deadline, f"no {want} in {sorted(scrape())}"
        time.sleep(0.1)


def test_serve_tags_are_reserved_in_a_replica_only():
    plain = metrics.Gauge("outside_replica", tag_keys=("deployment",))
    assert plain.info["tag_keys"] == ("deployment",)
