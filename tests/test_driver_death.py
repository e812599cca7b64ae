"""A driver attached to a running cluster dies: its work ends on every node within
seconds (running tasks killed, nested ones too, resources freed, non-detached actors
gone) while its detached actor keeps serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from procs import is_running
from waiting import wait_until

import ember
from ember.cluster_utils import Cluster

# Launches long-running tasks on both nodes (one submits a nested task), a detached actor
# and an ordinary one, then waits forever. Every task and actor writes down its pid.
DRIVER = textwrap.dedent("""
    import os, sys, time
    import ember
    from ember.util.scheduling_strategies import NodeAffinitySchedulingStrategy as Aff

    address, head, worker, pids = sys.argv[1:5]
    ember.init(address=address)

    def note(kind):
        with open(pids, "a") as f:
            f.write(f"{kind} {os.getpid()}\\n")

    @ember.remote(num_cpus=1)
    def spin():
        note("task")
        while True:
            time.sleep(0.05)

    @ember.remote(num_cpus=1)
    def parent(node):
        child = spin.options(scheduling_strategy=Aff(node, soft=False)).remote()
        note("task")
        while True:
            time.sleep(0.05)

    @ember.remote(num_cpus=0)
    class Keeper:
        def pid(self):
            return os.getpid()

    @ember.remote(num_cpus=0)
    def make_group():  # a group made by a task of the job goes with the job
        from ember.util.placement_group import placement_group

        pg = placement_group([{"object_store_memory": 1}], name="doomed-group")
        return pg.wait(30)

    assert ember.get(make_group.remote())
    keeper = Keeper.options(name="keeper", namespace="driver-death",
                            lifetime="detached").remote()
    doomed = Keeper.remote()
    with open(pids, "a") as f:
        f.write(f"keeper {ember.get(keeper.pid.remote())}\\n")
        f.write(f"doomed {ember.get(doomed.pid.remote())}\\n")
    refs = [spin.options(scheduling_strategy=Aff(head, soft=False)).remote(),
            spin.options(scheduling_strategy=Aff(worker, soft=False)).remote(),
            parent.options(scheduling_strategy=Aff(head, soft=False)).remote(worker)]
    time.sleep(3600)
""")



def _pids(path: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    try:
        with open(path) as f:
            for line in f:
                kind, pid = line.split()
                out.setdefault(kind, []).append(int(pid))
    except FileNotFoundError:
        pass
    return out


def _group_states() -> list[str]:
    from ember.util.placement_group import placement_group_table

    return [g["state"] for g in placement_group_table().values() if g["name"] == "doomed-group"]


@pytest.fixture
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    worker = c.add_node(num_cpus=2)
    c.connect(namespace="driver-death")
    yield c, worker
    c.shutdown()


def test_sigkilled_driver_work_ends_on_every_node_but_detached_actors_stay(cluster, tmp_path):
    c, worker = cluster
    pids_file = str(tmp_path / "pids")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, c.address, c.head_node.node_id, worker.node_id,
         pids_file], stdin=subprocess.DEVNULL)
    try:
        # Four tasks run, two on each node (one of them nested), holding every CPU.
        wait_until(lambda: len(_pids(pids_file).get("task", [])) == 4,
                    "the driver's four tasks started", timeout=60)
        assert ember.cluster_resources()["CPU"] == 4
        wait_until(lambda: ember.available_resources().get("CPU", 0) == 0,
                    "the tasks hold every CPU", timeout=30)
        pids = _pids(pids_file)
        assert all(is_running(p) for p in pids["task"] + pids["doomed"])
        assert _group_states() == ["CREATED"]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
        start = time.time()
        wait_until(lambda: not any(is_running(p) for p in pids["task"]),
                    "every task process of the dead driver was killed", timeout=10)
        wait_until(lambda: ember.available_resources().get("CPU", 0) == 4,
                    "every CPU is free again", timeout=10)
        wait_until(lambda: not is_running(pids["doomed"][0]),
                    "its non-detached actor is gone", timeout=10)
        wait_until(lambda: _group_states() == ["REMOVED"], "its placement group is removed",
                    timeout=10)
        assert time.time() - start < 10
        keeper = ember.get_actor("keeper", namespace="driver-death")
        assert ember.get(keeper.pid.remote(), timeout=30) == pids["keeper"][0]
        assert is_running(pids["keeper"][0])
        ember.kill(keeper)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
