"""A cluster started with the CLI: status, attached drivers, tokens, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from procs import is_running


def _ember(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "ember._cli", *args], env=env,
                         capture_output=True, text=True, timeout=60)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def _driver(env: dict, code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _descendants(pid: int) -> list[int]:
    parent = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    parent[int(p)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    out, frontier = [], [pid]
    while frontier:
        nxt = [c for c, pp in parent.items() if pp in frontier]
        out += nxt
        frontier = nxt
    return out


@pytest.fixture
def head(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("EMBER_ADDRESS", None)
    env.pop("EMBER_TMPDIR", None)  # the session root is TMPDIR's, as for a user
    out = _ember(env, "start", "--head", "--num-cpus", "2", "--port", "0",
                 "--resources", '{"accel": 1}')
    assert "Started the head node" in out.stdout
    with open(tmp_path / f"ember-{os.getuid()}" / "current_cluster.json") as f:
        info = json.load(f)
    yield env, info
    _ember(env, "stop", check=False)


def test_status_lists_the_head_node(head):
    env, info = head
    out = _ember(env, "status").stdout
    assert "1 node(s) alive" in out and info["node_id"] in out
    assert "CPU: 0 / 2" in out and "accel: 0 / 1" in out
    assert info["gcs_address"].startswith("127.0.0.1:")
    assert oct(os.stat(info["token_file"]).st_mode & 0o777) == "0o600"


def test_attached_driver_runs_tasks_actors_and_zero_copy_objects(head):
    env, info = head
    out = _driver(env, """
        import os, numpy as np, ember
        ember.init(address="auto")
        @ember.remote(resources={"accel": 1})
        def double(x):
            return x * 2
        @ember.remote
        class Counter:
            def __init__(self):
                self.n = 0
            def add(self):
                self.n += 1
                return self.n
        c = Counter.remote()
        arr = np.arange(3_000_000)
        ref = ember.put(arr)
        view = ember.get(ref)
        print(ember.get([double.remote(i) for i in range(5)]),
              ember.get([c.add.remote() for _ in range(3)]),
              not view.flags.owndata, int(ember.get(double.remote(ref))[-1]),
              ember.get_runtime_context().get_node_id())
        ember.shutdown()
    """)
    assert out.split() == ["[0,", "2,", "4,", "6,", "8]", "[1,", "2,", "3]", "True",
                           str(2 * 2_999_999), info["node_id"]]


def test_detached_actor_outlives_its_driver_and_others_die(head):
    env, _ = head
    pids = _driver(env, """
        import os, ember
        ember.init(address="auto", namespace="app")
        @ember.remote
        class Svc:
            def pid(self):
                return os.getpid()
        kept = Svc.options(name="svc", lifetime="detached").remote()
        gone = Svc.options(name="tmp").remote()
        print(ember.get(kept.pid.remote()), ember.get(gone.pid.remote()))
    """).split()
    out = _driver(env, """
        import ember
        ember.init(address="auto", namespace="app")
        print(ember.get(ember.get_actor("svc").pid.remote()))
        try:
            ember.get_actor("tmp")
        except ValueError:
            print("tmp-gone")
    """).split()
    assert out == [pids[0], "tmp-gone"]
    deadline = time.time() + 10
    while is_running(int(pids[1])) and time.time() < deadline:
        time.sleep(0.05)
    assert not is_running(int(pids[1]))


def test_wrong_token_is_refused_and_nothing_runs(head, tmp_path):
    env, info = head
    out = _driver(env, """
        from ember._cluster.connect import connect
        try:
            connect("auto", None, token="not-the-token")
        except ConnectionError as e:
            print("refused:", e)
    """)
    assert "refused" in out and "token" in out
    assert "CPU: 0 / 2" in _ember(env, "status").stdout


def test_stop_leaves_nothing_behind(head):
    env, info = head
    _driver(env, """
        import ember
        ember.init(address="auto")
        ember.get(ember.remote(lambda: 1).remote())
    """)
    pid = info["head_pid"]
    children = _descendants(pid)
    assert children, "the head should have a template and workers"
    assert "Stopped" in _ember(env, "stop").stdout
    deadline = time.time() + 10
    while any(is_running(p) for p in [pid, *children]) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(is_running(p) for p in [pid, *children])
    assert not os.path.exists(os.path.join(env["TMPDIR"], f"ember-{os.getuid()}", "current_cluster.json"))
    assert "No cluster" in _ember(env, "status", check=False).stdout


def test_init_without_a_cluster_and_worker_nodes_are_clear_errors(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("EMBER_TMPDIR", None)
    out = subprocess.run([sys.executable, "-c", "import ember; ember.init(address='auto')"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "ember start --head" in out.stderr
    env.pop("EMBER_CLUSTER_TOKEN", None)
    out = _ember(env, "start", "--address", "127.0.0.1:6379", check=False)
    assert out.returncode == 2 and "token" in out.stderr


def test_list_summary_memory_and_timeline(head, tmp_path):
    env, info = head
    _driver(env, """
        import ember
        ember.init(address="auto", namespace="inspect")
        @ember.remote
        class Keeper:
            def ping(self):
                return 1
        k = Keeper.options(name="keeper", lifetime="detached").remote()
        ember.get(k.ping.remote())
        ember.get([ember.remote(lambda: 1).options(name="one").remote() for _ in range(3)])
    """)
    out = _ember(env, "list", "actors").stdout
    assert "Keeper" in out and "keeper" in out and "ALIVE" in out
    assert info["node_id"] in _ember(env, "list", "nodes").stdout
    rows = json.loads(_ember(env, "list", "tasks", "--format", "json").stdout)
    assert sum(1 for r in rows if r["name"] == "one") == 3
    assert "FINISHED" in _ember(env, "summary", "tasks").stdout
    assert "MiB used of" in _ember(env, "memory").stdout
    trace = tmp_path / "trace.json"
    _ember(env, "timeline", "--output", str(trace))
    assert any(e["name"] == "one" for e in json.loads(trace.read_text()))


def test_worker_node_joins_with_the_cli(head):
    env, info = head
    out = _ember(env, "start", "--address", info["gcs_address"], "--num-cpus", "1",
                 "--resources", '{"side": 1}').stdout
    assert "Joined the cluster" in out
    worker_id = out.split(" as node ")[1].split()[0]
    deadline = time.time() + 15
    while "2 node(s) alive" not in _ember(env, "status").stdout and time.time() < deadline:
        time.sleep(0.1)
    assert "2 node(s) alive" in _ember(env, "status").stdout
    where = _driver(env, """
        import ember
        ember.init(address="auto")
        @ember.remote(resources={"side": 1})
        def where():
            return ember.get_runtime_context().get_node_id()
        print(ember.get(where.remote()))
    """).strip()
    assert where == worker_id
    # A group that needs three nodes waits, and `ember status` reports it.
    status = _driver(env, """
        import subprocess, sys, time
        import ember
        from ember.util import placement_group
        ember.init(address="auto")
        pg = placement_group([{"CPU": 1}] * 3, strategy="STRICT_SPREAD", name="wide")
        out, deadline = "", time.time() + 30
        while "wide" not in out and time.time() < deadline:
            out = subprocess.run([sys.executable, "-m", "ember._cli", "status"],
                                 capture_output=True, text=True).stdout
            time.sleep(0.1)
        print(out)
    """)
    assert "placement group wide (STRICT_SPREAD, PENDING)" in status
    deadline = time.time() + 30  # the driver is gone, and its group with it
    while "wide" in _ember(env, "status").stdout and time.time() < deadline:
        time.sleep(0.1)
    assert "wide" not in _ember(env, "status").stdout
    assert "Stopped 1 worker node(s)" in _ember(env, "stop").stdout
