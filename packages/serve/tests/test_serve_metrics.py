"""Replica request metrics under Ray Serve's names on the dashboard's /metrics."""

from __future__ import annotations

import os

import httpx
from prometheus_client.parser import text_string_to_metric_families

import ember
from ember import serve


def _samples(client: httpx.Client) -> dict:
    out: dict = {}
    for fam in text_string_to_metric_families(client.get("/metrics").text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_requests_errors_and_latency_per_deployment(serve_starter, wait):
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    try:
        url = serve_starter()
        with open(os.path.join(info["session_dir"], "token")) as f:
            token = f.read()

        @serve.deployment
        class Greeter:
            def __call__(self, request=None):
                return "hello"

            def fail(self):
                raise ValueError("no")

        handle = serve.run(Greeter.bind(), name="greet", route_prefix="/greet")
        for _ in range(3):
            assert httpx.get(f"{url}/greet", timeout=30).text == "hello"
        for _ in range(2):
            try:
                handle.fail.remote().result()
            except ValueError:
                pass
        client = httpx.Client(base_url=info["dashboard_url"], timeout=30,
                              headers={"Authorization": f"Bearer {token}"})

        def counted():
            got = _samples(client)
            total = sum(v for labels, v in
                        got.get("ray_serve_deployment_request_counter_total", [])
                        if labels.get("deployment") == "Greeter")
            errors = sum(v for labels, v in
                         got.get("ray_serve_deployment_error_counter_total", [])
                         if labels.get("deployment") == "Greeter")
            latency = [v for labels, v in
                       got.get("ray_serve_deployment_processing_latency_ms_count", [])
                       if labels.get("application") == "greet"]
            return total >= 5 and errors >= 2 and sum(latency) >= 5 and got

        got = wait(counted, timeout=30, what="Serve metrics on /metrics")
        routes = {labels["route"] for labels, _ in
                  got["ray_serve_deployment_request_counter_total"]
                  if labels.get("deployment") == "Greeter"}
        assert "/greet" in routes
        client.close()
    finally:
        try:
            serve.shutdown()
        finally:
            ember.shutdown()
