"""Train's progress metrics on the dashboard's /metrics."""

from __future__ import annotations

import os
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

import ember
from ember import train
from ember.train import DataParallelTrainer, RunConfig, ScalingConfig


def three_reports(config):
    for step in range(3):
        train.report({"step": step})


def _reports(info: dict, token: str, run_name: str) -> float:
    with httpx.Client(base_url=info["dashboard_url"], timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        deadline = time.monotonic() + 30
        value = 0.0
        while time.monotonic() < deadline:
            for fam in text_string_to_metric_families(client.get("/metrics").text):
                for s in fam.samples:
                    if s.name == "ray_train_reports_total" and \
                            s.labels.get("run_name") == run_name:
                        value = s.value
            if value >= 3:
                break
            time.sleep(0.1)
    return value


def test_reports_are_counted_per_run(tmp_path):
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    try:
        with open(os.path.join(info["session_dir"], "token")) as f:
            token = f.read()
        DataParallelTrainer(
            three_reports, scaling_config=ScalingConfig(num_workers=1),
            run_config=RunConfig(name="metrics-run", storage_path=str(tmp_path))).fit()
        assert _reports(info, token, "metrics-run") == 3
    finally:
        ember.shutdown()
