"""`ember.util.state.list_jobs()` on a cluster lists every driver the control store has
recorded, the running ones and those that ended, as Ray's job table does."""

from __future__ import annotations

import subprocess
import sys

import pytest
from waiting import wait_until

import ember
from ember.cluster_utils import Cluster
from ember.util.state import list_jobs


@pytest.fixture
def cluster():
    c = Cluster()
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ember.init(address=c.address)
    yield c
    ember.shutdown()
    c.shutdown()


def _drivers() -> dict[int, dict]:
    return {r["driver_pid"]: r for r in list_jobs(filters=[("type", "=", "DRIVER")])}


def test_list_jobs_shows_drivers_that_ended(cluster):
    script = (f"import ember; ember.init(address={cluster.address!r}); "
              "print(ember.get_runtime_context().get_job_id()); ember.shutdown()")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=120, check=True)
    job_id = other.stdout.split()[-1]
    # The driver that ended is listed as dead, with its job id; this one still runs.
    ended = wait_until(lambda: [r for r in _drivers().values() if r["is_dead"]],
                       what="the ended driver to be listed")
    assert [(r["job_id"], r["status"]) for r in ended] == [(job_id, "SUCCEEDED")]
    assert ended[0]["end_time"] >= ended[0]["start_time"] > 0
    running = [r for r in _drivers().values() if not r["is_dead"]]
    assert [r["status"] for r in running] == ["RUNNING"]
    assert running[0]["job_id"] == ember.get_runtime_context().get_job_id()
