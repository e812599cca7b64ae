"""`ember status` reports what waits for resources, per resource shape, in Ray's words:
` {'CPU': 1.0}: 2+ pending tasks/actors (1+ using placement groups)`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from waiting import wait_until

import ember
from ember.cluster_utils import Cluster
from ember.util import placement_group, remove_placement_group
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@pytest.fixture
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.connect()
    yield c
    ember.shutdown()
    c.shutdown()


def _status() -> str:
    out = subprocess.run([sys.executable, "-m", "ember._cli", "status"], env=dict(os.environ),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_status_lists_pending_demand_per_shape(cluster):
    assert "Demands:\n (no resource demands)" in _status()
    pg = placement_group([{"CPU": 1}])
    ember.get(pg.ready(), timeout=60)

    @ember.remote(num_cpus=1)
    class Holder:
        def ready(self) -> bool:
            return True

    in_bundle = PlacementGroupSchedulingStrategy(placement_group=pg,
                                                 placement_group_bundle_index=0)
    first = Holder.options(scheduling_strategy=in_bundle).remote()
    assert ember.get(first.ready.remote(), timeout=60)
    _queued = Holder.options(scheduling_strategy=in_bundle).remote()  # its bundle is taken

    @ember.remote(num_cpus=1)
    def plain() -> int:
        return 1

    waiting = plain.remote()  # the only CPU is the group's
    half = plain.options(num_cpus=0.5).remote()  # the same wait, a shape of its own
    want = [" {'CPU': 1.0}: 2+ pending tasks/actors (1+ using placement groups)",
            " {'CPU': 0.5}: 1+ pending tasks/actors"]
    wait_until(lambda: all(line in _status() for line in want), "the demand lines")
    remove_placement_group(pg)  # its actors go with it, and the CPU is free again
    assert ember.get([waiting, half], timeout=60) == [1, 1]
    wait_until(lambda: "Demands:\n (no resource demands)" in _status(), "no demand left")


def test_status_of_an_embedded_cluster_lists_its_demand(monkeypatch, tmp_path, shutdown_after):
    monkeypatch.setenv("EMBER_TMPDIR", str(tmp_path))  # its record, found by `ember status`
    ember.init(num_cpus=1)

    @ember.remote(num_cpus=1)
    class Holder:
        def ready(self) -> bool:
            return True

    holder = Holder.remote()
    assert ember.get(holder.ready.remote(), timeout=60)
    _queued = [Holder.remote() for _ in range(2)]  # no CPU left for them
    seen: list[str] = []

    def demand_shown() -> bool:
        seen.append(_status())
        return "{'CPU': 1.0}: 2+ pending tasks/actors\n" in seen[-1]

    wait_until(demand_shown, "the demand line")
    assert "Embedded cluster of process" in seen[-1] and "CPU: 1 / 1" in seen[-1]
