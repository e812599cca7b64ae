"""Another driver joins an embedded cluster with `init("auto")`, as with Ray's local
cluster; the machine's cluster record is the embedded session's only while no running
cluster holds it, and `ember stop` leaves the embedded program alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import ember
from ember._cluster.connect import cluster_file


@pytest.fixture
def own_root(tmp_path, monkeypatch):
    """A session root of this test's own, in this process and the processes it starts."""
    monkeypatch.setenv("EMBER_TMPDIR", str(tmp_path))
    yield tmp_path
    ember.shutdown()


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_a_second_driver_joins_with_auto(own_root):
    ember.init(num_cpus=2, namespace="here")

    @ember.remote
    class Box:
        def get(self):
            return "from the first driver"

    box = Box.options(name="box", lifetime="detached").remote()
    assert ember.get(box.get.remote()) == "from the first driver"
    with open(cluster_file()) as f:
        assert json.load(f)["embedded"] is True

    out = _run("""
        import os
        import ember
        ember.init("auto", namespace="here")

        @ember.remote
        def pid():
            return os.getpid()

        print(ember.get(ember.get_actor("box").get.remote()))
        print("worker", ember.get(pid.remote()) != os.getpid())
        print("cpus", ember.cluster_resources()["CPU"])
    """)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["from the first driver", "worker True", "cpus 2.0"]
    ember.kill(box)
    ember.shutdown()
    assert not os.path.exists(cluster_file())  # withdrawn with the session


def test_a_running_clusters_record_is_left_in_place(own_root):
    keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        theirs = {"gcs_address": "127.0.0.1:1", "address": "127.0.0.1:1",
                  "head_pid": keeper.pid, "node_socket": "/nonexistent", "token_file": ""}
        os.makedirs(os.path.dirname(cluster_file()), exist_ok=True)
        with open(cluster_file(), "w") as f:
            json.dump(theirs, f)
        ember.init(num_cpus=1)
        with open(cluster_file()) as f:
            assert json.load(f) == theirs
        ember.shutdown()
        with open(cluster_file()) as f:
            assert json.load(f) == theirs
    finally:
        keeper.kill()
        keeper.wait()


def test_ember_stop_leaves_an_embedded_program_alone(own_root):
    ember.init(num_cpus=1)
    out = subprocess.run([sys.executable, "-m", "ember._cli", "stop"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "No cluster is running" in out.stdout
    assert os.path.exists(cluster_file())

    @ember.remote
    def one():
        return 1

    assert ember.get(one.remote()) == 1


def test_a_session_root_deeper_than_a_socket_path_allows(tmp_path, monkeypatch):
    """The node's socket path passes the kernel's 107 bytes: it is still bound and joined."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("EMBER_TMPDIR", str(deep))
    try:
        ember.init(num_cpus=1)
        with open(cluster_file()) as f:
            sock = json.load(f)["node_socket"]
        assert len(os.fsencode(sock)) > 107 and os.path.exists(sock)
        out = _run("""
            import ember
            ember.init("auto")
            print(ember.get(ember.remote(lambda: 41 + 1).remote()))
        """)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "42"
    finally:
        ember.shutdown()
