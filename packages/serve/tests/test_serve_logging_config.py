"""A deployment's logging_config (Ray's LoggingConfig): the replicas' "ray.serve" logger
takes its level and encoding, and writes to a file per replica in `logs_dir`."""

from __future__ import annotations

import json
import logging

import pytest

from ember import serve
from ember.serve.schema import LoggingConfig


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Chatty:
    def __call__(self) -> str:
        log = logging.getLogger("ray.serve")
        log.debug("debug line")
        log.info("info line")
        log.warning("warning line")
        return "ok"


def lines(logs_dir) -> list[str]:
    return [ln for f in sorted(logs_dir.glob("replica_*.log"))
            for ln in f.read_text().splitlines()]


def test_json_debug_logs_in_logs_dir(serve_url, cleanup_apps, wait, tmp_path):
    cfg = LoggingConfig(encoding="JSON", log_level="DEBUG", logs_dir=str(tmp_path))
    h = serve.run(Chatty.options(logging_config=cfg).bind(), name="chatty",
                  route_prefix=None)
    assert h.remote().result(timeout_s=30) == "ok"
    wait(lambda: len(lines(tmp_path)) >= 3, what="three log lines in logs_dir")
    records = [json.loads(ln) for ln in lines(tmp_path)]
    assert [r["message"] for r in records][:3] == ["debug line", "info line", "warning line"]
    assert records[0]["deployment"] == "Chatty" and records[0]["application"] == "chatty"
    assert records[0]["levelname"] == "DEBUG" and records[0]["request_id"]


def test_app_level_config_and_level_filtering(serve_url, cleanup_apps, wait, tmp_path):
    h = serve.run(Chatty.bind(), name="quiet", route_prefix=None,
                  logging_config={"log_level": "WARNING", "logs_dir": str(tmp_path)})
    assert h.remote().result(timeout_s=30) == "ok"
    wait(lambda: lines(tmp_path), what="a log line in logs_dir")
    got = lines(tmp_path)
    assert len(got) == 1 and got[0].startswith("WARNING") and "Chatty" in got[0]
    assert got[0].endswith("-- warning line")


def test_config_is_checked():
    with pytest.raises(ValueError, match="encoding"):
        LoggingConfig(encoding="XML")
    with pytest.raises(ValueError, match="log_level"):
        LoggingConfig(log_level="LOUD")
