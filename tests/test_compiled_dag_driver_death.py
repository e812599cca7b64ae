"""A driver that compiled a graph over detached actors is SIGKILLed: the actors' loops
end (they watch the driver's pidfd, and close their channels for the loops downstream),
the channels' directory is removed, and the actors keep serving."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import ember
from ember.cluster_utils import Cluster

DRIVER = """
import sys, ember
from ember.dag import InputNode
ember.init(address=sys.argv[1], namespace="cgraph")

@ember.remote
class Echo:
    def echo(self, x):
        return x

a = Echo.options(name="cg_a", lifetime="detached").remote()
b = Echo.options(name="cg_b", lifetime="detached").remote()
with InputNode() as inp:
    dag = b.echo.bind(a.echo.bind(inp))
compiled = dag.experimental_compile()
assert ember.get(compiled.execute(7)) == 7
print("compiled", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    c.connect(namespace="cgraph")
    yield c
    c.shutdown()


def _loops(actor) -> int:
    """How many compiled-graph loop threads run in the actor."""
    return ember.get(actor.__ray_call__.remote(
        lambda self: sum(t.name == "ember-cgraph" for t in threading.enumerate())))


def test_loops_end_when_the_driver_dies(cluster):
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, cluster.address],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "compiled"
        a, b = ember.get_actor("cg_a"), ember.get_actor("cg_b")
        assert _loops(a) == 1 and _loops(b) == 1
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while (_loops(a) or _loops(b)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _loops(a) == 0 and _loops(b) == 0
        assert ember.get(a.echo.remote("still here")) == "still here"
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
        assert not glob.glob(os.path.join(base, f"ember-cgraph-{proc.pid}-*"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for name in ("cg_a", "cg_b"):
            try:
                ember.kill(ember.get_actor(name))
            except ValueError:
                pass
