"""ember.util.metrics from tasks and actors, exported on the dashboard's /metrics."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import ember
from ember.util.metrics import Counter, Gauge, Histogram


@pytest.fixture(scope="module")
def scrape():
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read()
    client = httpx.Client(base_url=info["dashboard_url"], timeout=30,
                          headers={"Authorization": f"Bearer {token}"})

    def samples() -> dict:
        r = client.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        out = {}
        for fam in text_string_to_metric_families(r.text):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    yield samples
    client.close()
    ember.shutdown()


def _until(samples, check, timeout=20.0):
    """Scrape until `check(samples)` holds: processes report every half second."""
    deadline = time.monotonic() + timeout
    while True:
        got = samples()
        if check(got):
            return got
        assert time.monotonic() < deadline, "metrics never arrived"
        time.sleep(0.1)


REQUESTS = Counter("app_requests", "Requests served.", tag_keys=("route",))
LATENCY = Histogram("app_latency_s", "Latency.", boundaries=[0.1, 1.0], tag_keys=("route",))


@ember.remote
def handle(route, seconds):
    REQUESTS.inc(tags={"route": route})
    LATENCY.observe(seconds, tags={"route": route})
    return route


@ember.remote
class Tracker:
    def __init__(self):
        self.g = Gauge("app_queue_depth", "Queue depth.", tag_keys=("queue",))
        self.g.set_default_tags({"queue": "main"})

    def set(self, n):
        self.g.set(n)


def test_task_and_actor_metrics_reach_the_prometheus_endpoint(scrape):
    ember.get([handle.remote("/a", 0.05) for _ in range(6)] + [handle.remote("/b", 2.0)])
    tracker = Tracker.remote()
    ember.get(tracker.set.remote(7))
    a = ("route", "/a")
    got = _until(scrape, lambda s: s.get(("ray_app_requests_total", (a,))) == 6 and
                 s.get(("ray_app_queue_depth", (("queue", "main"),))) == 7 and
                 s.get(("ray_app_latency_s_count", (("route", "/b"),))) == 1)
    assert got[("ray_app_latency_s_bucket", (("le", "0.1"), a))] == 6
    assert got[("ray_app_latency_s_bucket", (("le", "1.0"), ("route", "/b")))] == 0
    assert got[("ray_app_latency_s_bucket", (("le", "+Inf"), ("route", "/b")))] == 1
    assert abs(got[("ray_app_latency_s_sum", (a,))] - 0.3) < 1e-9
    ember.kill(tracker)


def test_system_metrics_use_rays_names(scrape):
    ember.get([handle.remote("/c", 0.0) for _ in range(3)])
    got = scrape()
    node = [dict(k[1])["NodeId"] for k in got if k[0] == "ray_tasks"][0]
    finished = got[("ray_tasks", (("NodeId", node), ("State", "FINISHED")))]
    assert finished >= 3
    names = {k[0] for k in got}
    assert {"ray_object_store_memory", "ray_resources", "ray_node_mem_total",
            "ray_object_store_available_memory", "ray_node_cpu_count"} <= names
    assert got[("ray_node_cpu_count", (("NodeId", node),))] == 2


def test_metric_arguments_are_checked_as_in_ray():
    with pytest.raises(ValueError):
        Counter("bad name")
    with pytest.raises(TypeError):
        Counter("ok_name", tag_keys=["not", "a", "tuple"])
    c = Counter("checked_counter", tag_keys=("k",))
    with pytest.raises(ValueError, match="Missing value for tag key"):
        c.inc()
    with pytest.raises(ValueError, match="Unrecognized tag key"):
        c.inc(tags={"k": "v", "x": "y"})
    with pytest.raises(ValueError):
        c.inc(-1)
    with pytest.raises(ValueError):
        Histogram("h_bad", boundaries=[])
    with pytest.raises(ValueError):
        Histogram("h_bad2", boundaries=[2.0, 1.0])
    assert c.info["tag_keys"] == ("k",)


def test_the_grafana_dashboard_queries_metrics_that_exist(scrape):
    import json
    import re
    from pathlib import Path

    path = Path(__file__).parent.parent / "docs" / "grafana" / "ember_dashboard.json"
    board = json.loads(path.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    wanted = {m for e in exprs for m in re.findall(r"\bray_[a-z_]+", e)}
    exported = {k[0] for k in scrape()}
    assert wanted and wanted <= exported, wanted - exported


def test_a_forked_process_starts_its_metrics_from_zero():
    """What a process recorded before forking is its own to report: the child (e.g. a
    worker forked from a template that was forked from the driver) must not report it
    again, or the exported sums would count it twice."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import os
        from ember.util import metrics
        c = metrics.Counter("forked_counter")
        c.inc(3)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if metrics.snapshot() == [] else 1)
        _, status = os.waitpid(pid, 0)
        mine = metrics.snapshot()
        print(os.waitstatus_to_exitcode(status), mine[0][4][0][1])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["0", "3.0"], out.stdout + out.stderr


def test_values_recorded_before_init_are_reported_after_it():
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import os, time, httpx, ember
        from ember.util.metrics import Counter
        from prometheus_client.parser import text_string_to_metric_families
        Counter("early").inc(2)
        info = ember.init(num_cpus=1, dashboard_port=0)
        token = open(os.path.join(info["session_dir"], "token")).read()
        deadline = time.monotonic() + 20
        got = []
        while not got and time.monotonic() < deadline:
            text = httpx.get(info["dashboard_url"] + "/metrics",
                             headers={"Authorization": "Bearer " + token}).text
            got = [s.value for f in text_string_to_metric_families(text)
                   for s in f.samples if s.name == "ray_early_total"]
            time.sleep(0.1)
        print(got)
        ember.shutdown()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "[2.0]", out.stdout + out.stderr
