"""Multi-node faults and isolation: a killed node, a wrong token, network namespaces."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember
from ember.cluster_utils import Cluster
from ember.util.scheduling_strategies import NodeAffinitySchedulingStrategy


def _wait_task_state(name: str, want: str, timeout: float = 60) -> None:
    """Wait until the (first) task whose name ends with `name` is in state `want`."""
    from ember.util import state

    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = [t for t in state.list_tasks() if t["name"].endswith(name)]
        if rows and rows[0]["state"] == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"task {name} did not reach {want} within {timeout} s")


def test_task_on_a_killed_node_is_retried_elsewhere():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.connect()

        @ember.remote(max_retries=1)
        def slow_where():
            time.sleep(3)
            return ember.get_runtime_context().get_node_id()

        strategy = NodeAffinitySchedulingStrategy(worker.node_id, soft=True)
        ref = slow_where.options(scheduling_strategy=strategy).remote()
        _wait_task_state("slow_where", "RUNNING")  # it was forwarded to the worker node
        time.sleep(0.5)
        cluster.remove_node(worker, allow_graceful=False)
        assert ember.get(ref, timeout=60) == cluster.head_node.node_id
    finally:
        cluster.shutdown()


def test_worker_node_with_a_wrong_token_cannot_join(tmp_path):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        bad = tmp_path / "token"
        bad.write_text("wrong-token")
        proc = subprocess.run(
            [sys.executable, "-m", "ember._cluster.worker_node", "--address", cluster.address,
             "--token-file", str(bad)], capture_output=True, text=True, timeout=60,
            env=dict(os.environ))
        assert proc.returncode != 0 and "UNAUTHENTICATED" in proc.stderr
        assert len(cluster._nodes()) == 1
    finally:
        cluster.shutdown()


def _netns_available() -> bool:
    if os.geteuid() != 0:
        return False
    name = f"ember-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


@pytest.fixture
def veth_namespace():
    """A network namespace joined to this one by a veth pair: 10.213.77.1 <-> .2."""
    if not _netns_available():
        pytest.skip("network namespaces are not permitted here")
    tag = os.getpid() % 10000
    ns, here, there = f"ember-ns{tag}", f"emb{tag}a", f"emb{tag}b"
    cmds = [
        ["ip", "netns", "add", ns],
        ["ip", "link", "add", here, "type", "veth", "peer", "name", there],
        ["ip", "link", "set", there, "netns", ns],
        ["ip", "addr", "add", "10.213.77.1/24", "dev", here],
        ["ip", "link", "set", here, "up"],
        ["ip", "netns", "exec", ns, "ip", "addr", "add", "10.213.77.2/24", "dev", there],
        ["ip", "netns", "exec", ns, "ip", "link", "set", there, "up"],
        ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
    ]
    try:
        for cmd in cmds:
            subprocess.run(cmd, check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        subprocess.run(["ip", "link", "del", here], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"could not set up a veth pair: {e.stderr!r}")
    yield ns, here
    subprocess.run(["ip", "link", "del", here], capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _rx_bytes(dev: str) -> int:
    with open(f"/sys/class/net/{dev}/statistics/rx_bytes") as f:
        return int(f.read())


def test_nodes_in_separate_network_namespaces(veth_namespace):
    ns, dev = veth_namespace
    cluster = Cluster()
    try:
        cluster.add_node(num_cpus=1, host="10.213.77.1")
        worker = cluster.add_node(num_cpus=1, resources={"far": 1}, host="10.213.77.2",
                                  netns=ns)
        cluster.connect()
        before = _rx_bytes(dev)

        @ember.remote(resources={"far": 1})
        def far(a):
            return a + 1, ember.get_runtime_context().get_node_id()

        arr = np.zeros(2_000_000, dtype=np.int64)  # 16 MB out, 16 MB back
        out, where = ember.get(far.remote(arr))
        assert where == worker.node_id and int(out.sum()) == 2_000_000
        assert _rx_bytes(dev) - before > 16_000_000  # the result really crossed the veth
    finally:
        cluster.shutdown()


@ember.remote
class Where:
    def node(self):
        return ember.get_runtime_context().get_node_id()


def _where_on(node, **options):
    """A `Where` actor placed on `node` (soft: it may restart elsewhere)."""
    strategy = NodeAffinitySchedulingStrategy(node.node_id, soft=True)
    return Where.options(scheduling_strategy=strategy, **options).remote()


def test_actor_restarts_on_another_node_when_its_node_dies():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.connect()
        a = _where_on(worker, max_restarts=1)
        assert ember.get(a.node.remote()) == worker.node_id
        cluster.remove_node(worker, allow_graceful=False)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                assert ember.get(a.node.remote(), timeout=10) == cluster.head_node.node_id
                break
            except ember.exceptions.ActorDiedError:
                time.sleep(0.1)  # calls in flight when the node died fail; later ones run
        else:
            pytest.fail("the actor was not restarted on the head node")
    finally:
        cluster.shutdown()


def test_a_call_its_dead_node_refused_waits_for_the_restart():
    """A call sent after the actor's node died, before the death is known, is not failed:
    with max_task_retries it runs on the restarted actor."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.connect()
        a = _where_on(worker, max_restarts=-1, max_task_retries=-1)
        assert ember.get(a.node.remote()) == worker.node_id
        cluster.remove_node(worker, allow_graceful=False)
        refs = [a.node.remote() for _ in range(3)]  # the node is not known dead yet
        assert ember.get(refs, timeout=60) == [cluster.head_node.node_id] * 3
    finally:
        cluster.shutdown()


@pytest.mark.parametrize("retries", [1, 0])
def test_a_result_lost_with_its_node_is_rebuilt_or_reported(retries):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.connect()

        @ember.remote(max_retries=retries)
        def produce(n):
            return np.arange(n, dtype=np.int64) * 2  # large: it stays in the worker's store

        strategy = NodeAffinitySchedulingStrategy(worker.node_id, soft=True)
        ref = produce.options(scheduling_strategy=strategy).remote(1_000_000)
        _wait_task_state("produce", "FINISHED")  # its result stays on the worker node
        cluster.remove_node(worker, allow_graceful=False)
        if retries:  # rebuilt from lineage: the task runs again on the head
            out = ember.get(ref, timeout=60)
            assert out[-1] == 2 * 999_999 and len(out) == 1_000_000
        else:
            start = time.time()
            with pytest.raises(ember.exceptions.ObjectLostError, match="max_retries"):
                ember.get(ref, timeout=60)
            assert time.time() - start < 30
    finally:
        cluster.shutdown()


def test_a_driver_outlives_the_cluster_it_attached_to(tmp_path):
    script = textwrap.dedent(f"""
        import os, threading, time
        import ember
        from ember.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 1}})
        cluster.connect()
        started = {str(tmp_path / "started")!r}

        @ember.remote
        def waits(path):
            open(path, "w").close()
            time.sleep(120)

        def kill_the_node():
            while not os.path.exists(started):
                time.sleep(0.01)
            cluster.head_node.proc.kill()  # the node dies while the driver waits on it

        threading.Thread(target=kill_the_node).start()
        try:
            ember.get(waits.remote(started), timeout=60)
        except Exception as e:  # noqa: BLE001
            print("raised", type(e).__name__)
        ember.shutdown()
        cluster.shutdown()
        print("still running")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "raised RaySystemError" in out.stdout, (out.stdout, out.stderr)
    assert out.stdout.strip().endswith("still running"), (out.stdout, out.stderr)
