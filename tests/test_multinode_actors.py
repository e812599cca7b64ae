"""Actors called from a node that neither owns nor hosts them: the call goes straight to
the hosting node (found in the control store's actor directory), named lookups work from
any node, and a caller's retried calls follow the actor when its node dies."""

from __future__ import annotations

import time

import pytest

import ember
from ember.cluster_utils import Cluster
from ember.util import state


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1, resources={"host": 1, "slot": 1})
    c.add_node(num_cpus=1, resources={"caller": 1})
    c.add_node(num_cpus=1, resources={"slot": 1})
    c.connect()
    yield c
    c.shutdown()


@ember.remote
class Counter:
    def __init__(self):
        self.calls = []

    def add(self, x):
        self.calls.append(x)
        return ember.get_runtime_context().get_node_id(), list(self.calls)


@ember.remote(num_cpus=0, resources={"caller": 1})
def call_from_another_node(handle, n):
    refs = [handle.add.remote(i) for i in range(n)]
    return ember.get_runtime_context().get_node_id(), ember.get(refs)


@ember.remote(num_cpus=0, resources={"caller": 1})
def call_by_name(name):
    handle = ember.get_actor(name)
    return ember.get(handle.add.remote("by-name"))


def test_a_third_node_calls_an_actor_directly(cluster):
    host = cluster.worker_nodes[0].node_id
    counter = Counter.options(resources={"host": 1}, name="counter").remote()
    first_node, _ = ember.get(counter.add.remote("driver"))
    assert first_node == host

    caller_node, results = ember.get(call_from_another_node.remote(counter, 20), timeout=60)
    assert caller_node == cluster.worker_nodes[1].node_id
    assert [r[0] for r in results] == [host] * 20
    assert results[-1][1] == ["driver", *range(20)]  # in the caller's order
    # The calls went from the caller's node to the host: the owner never saw them.
    owner_rows = [t for t in state.list_tasks() if t["name"].endswith("Counter.add")]
    assert len(owner_rows) == 1

    node, calls = ember.get(call_by_name.remote("counter"), timeout=60)
    assert node == host and calls[-1] == "by-name"


@ember.remote(num_cpus=0, resources={"caller": 1})
class Caller:
    def call(self, handle, x):
        return ember.get(handle.add.remote(x), timeout=60)


def test_calls_follow_an_actor_restarted_after_its_node_died(cluster):
    cluster.add_node(num_cpus=1, resources={"slot": 1})
    counter = Counter.options(resources={"slot": 1}, max_restarts=1,
                              max_task_retries=-1).remote()
    caller = Caller.remote()
    host, _ = ember.get(caller.call.remote(counter, "before"), timeout=60)
    victim = next(n for n in cluster.worker_nodes if n.node_id == host)
    cluster.remove_node(victim, allow_graceful=False)

    node, calls = ember.get(caller.call.remote(counter, "after"), timeout=90)
    assert node != host and node in {n.node_id for n in cluster.worker_nodes}
    assert calls == ["after"]  # a new instance: state starts again


@ember.remote(num_cpus=0, resources={"caller": 1})
def make_named(name, get_if_exists):
    try:
        handle = Counter.options(name=name, get_if_exists=get_if_exists).remote()
    except ValueError as e:
        return f"refused: {e}"
    return ember.get(handle.add.remote("from-caller"))[1]


def test_actor_names_are_unique_across_the_cluster(cluster):
    first = Counter.options(name="unique").remote()
    ember.get(first.add.remote("first"))
    refused = ember.get(make_named.remote("unique", False), timeout=60)
    assert refused.startswith("refused") and "Please use a different name" in refused
    assert ember.get(make_named.remote("unique", True), timeout=60) == ["first", "from-caller"]

    ember.kill(first)  # the name is free again, for any node
    import time

    deadline = time.time() + 30
    while time.time() < deadline:
        out = ember.get(make_named.remote("unique", False), timeout=60)
        if out == ["from-caller"]:
            break
        time.sleep(0.1)
    assert out == ["from-caller"]


@ember.remote
class Pid:
    def pid(self):
        import os

        return os.getpid()


@ember.remote(num_cpus=0, resources={"caller": 1})
def make_actor_elsewhere(name):
    """An actor owned by the "caller" node (made by a task there), not by the driver's."""
    a = Pid.options(name=name, lifetime="detached", num_cpus=0).remote()
    return ember.get(a.pid.remote())


def test_list_actors_shows_the_actors_of_every_owner(cluster):
    pid = ember.get(make_actor_elsewhere.remote("made-elsewhere"))
    # The owner publishes its actors' rows to the control store as they change, so the
    # listing catches up shortly after (Ray's state API is eventually consistent too).
    end = time.monotonic() + 30
    while time.monotonic() < end:
        rows = state.list_actors(filters=[("name", "=", "made-elsewhere")])
        if rows and rows[0]["state"] == "ALIVE":
            break
        time.sleep(0.05)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["state"] == "ALIVE" and row["class_name"] == "Pid"
    assert row["is_detached"] is True and row["node_id"]
    # The owner knows the pid when the actor runs on its own node (0 when it runs on a
    # third node: docs/compatibility.md).
    assert row["pid"] in (pid, 0)
    mine = Pid.options(name="made-here").remote()
    ember.get(mine.pid.remote())
    names = {r["name"] for r in state.list_actors()}
    assert {"made-elsewhere", "made-here"} <= names
    # A handle got by name can kill it, though this node never knew the actor: its owner
    # does it, and the list shows it dead.
    ember.kill(ember.get_actor("made-elsewhere"))
    ember.kill(mine)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        rows = state.list_actors(filters=[("name", "=", "made-elsewhere")])
        if rows and rows[0]["state"] == "DEAD":
            break
        time.sleep(0.05)
    assert rows and rows[0]["state"] == "DEAD", rows
