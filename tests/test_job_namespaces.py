"""Each driver's work names and finds actors in that driver's namespace, as in Ray: the
driver itself, its tasks and actors, on any node of the cluster."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import ember
from ember.cluster_utils import Cluster


@pytest.fixture(scope="module")
def joined():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.add_node(num_cpus=1, resources={"second": 1})
    try:
        ember.init(address=cluster.address, namespace="mine")
        yield cluster
    finally:
        ember.shutdown()
        cluster.shutdown()


@ember.remote
class Named:
    def where(self):
        return ember.get_runtime_context().namespace


@ember.remote
def look_up(name):
    ctx = ember.get_runtime_context()
    return ctx.namespace, ember.get(ember.get_actor(name).where.remote())


@ember.remote
def make_named(name):
    keep = Named.options(name=name, lifetime="detached").remote()
    return ember.get(keep.where.remote())


def test_a_joined_driver_and_its_work_share_its_namespace(joined):
    a = Named.options(name="kept").remote()
    assert ember.get_runtime_context().namespace == "mine"
    assert ember.util.list_named_actors() == ["kept"]
    assert ember.get(a.where.remote()) == "mine"  # the actor runs in its job's namespace
    # A task, here or on the other node, finds the driver's actor by name alone.
    assert ember.get(look_up.remote("kept")) == ("mine", "mine")
    assert ember.get(look_up.options(resources={"second": 1}).remote("kept")) == \
        ("mine", "mine")
    # An actor named by a task lives in the driver's namespace too.
    assert ember.get(make_named.options(resources={"second": 1}).remote("by-task")) == "mine"
    assert ember.get(ember.get_actor("by-task").where.remote()) == "mine"
    ember.kill(ember.get_actor("by-task"))


def test_another_driver_sees_only_its_own_namespace(joined):
    keep = Named.options(name="private").remote()  # noqa: F841
    script = textwrap.dedent(f"""
        import ember
        ember.init(address={joined.address!r}, namespace="theirs")
        assert ember.get_runtime_context().namespace == "theirs"
        assert "private" not in ember.util.list_named_actors()
        try:
            ember.get_actor("private")
            raise SystemExit("found another namespace's actor by name alone")
        except ValueError:
            pass
        print(ember.get(ember.get_actor("private", namespace="mine").where.remote()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "mine"
