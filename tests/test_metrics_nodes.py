"""Every worker node serves its own /metrics (Ray's per-node metrics export port)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _ember(env: dict, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ember._cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_a_worker_node_exports_its_metrics_behind_the_token(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    for key in ("EMBER_ADDRESS", "EMBER_TMPDIR", "EMBER_CLUSTER_TOKEN"):
        env.pop(key, None)
    _ember(env, "start", "--head", "--num-cpus", "1", "--port", "0", "--dashboard-port", "0")
    try:
        root = tmp_path / f"ember-{os.getuid()}"
        info = json.loads((root / "current_cluster.json").read_text())
        out = _ember(env, "start", "--address", info["gcs_address"], "--num-cpus", "3")
        assert "Metrics: http://127.0.0.1:" in out
        (node_file,) = glob.glob(str(root / "worker_nodes" / "*.json"))
        node = json.loads(open(node_file).read())
        token = open(info["token_file"]).read().strip()
        url = node["metrics_url"] + "/metrics"
        assert httpx.get(url).status_code == 401
        r = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        cpus = {s.labels["NodeId"]: s.value for fam in text_string_to_metric_families(r.text)
                for s in fam.samples if s.name == "ray_node_cpu_count"}
        assert cpus == {node["node_id"]: 3.0}
    finally:
        _ember(env, "stop")
