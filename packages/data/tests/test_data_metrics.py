"""Data's progress metrics (rows, bytes, blocks per operator) on the dashboard's /metrics."""

from __future__ import annotations

import os
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

import ember
import ember.data as rd


def test_operators_report_rows_bytes_and_blocks():
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read()
    try:
        assert rd.range(1000, override_num_blocks=4).map_batches(lambda b: b).count() == 1000
        rows = _output_rows(info, token)
    finally:
        ember.shutdown()
    assert any(v >= 1000 for v in rows.values()), rows


def _output_rows(info: dict, token: str) -> dict:
    """The operators' ray_data_output_rows, once some operator has counted all rows."""
    with httpx.Client(base_url=info["dashboard_url"], timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        deadline = time.monotonic() + 30
        rows: dict = {}
        while time.monotonic() < deadline:
            rows = {}
            for fam in text_string_to_metric_families(client.get("/metrics").text):
                for s in fam.samples:
                    if s.name == "ray_data_output_rows_total":
                        rows[s.labels["operator"]] = s.value
            if any(v >= 1000 for v in rows.values()):
                break
            time.sleep(0.1)
    return rows
