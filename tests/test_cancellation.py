"""ember.cancel as Ray documents it: a running task is interrupted with KeyboardInterrupt
(also while it waits in get), its get raises TaskCancelledError (a RayTaskError when it was
running), is_canceled() turns true inside it; a call that has not started never runs; a
worker whose task was interrupted runs the next task normally; recursive cancellation of
children; a cancel reaches the node that owns the task."""

from __future__ import annotations

import os
import time

import pytest

import ember
from ember.cluster_utils import Cluster
from ember.exceptions import GetTimeoutError, RayTaskError, TaskCancelledError
from ember.util.state import list_tasks


@ember.remote(num_cpus=0)
class Gate:
    """Calls to wait() block until open() (an asyncio event, as Ray's SignalActor)."""

    def __init__(self) -> None:
        import asyncio

        self.event = asyncio.Event()
        self.waiting = 0

    async def wait(self) -> None:
        self.waiting += 1
        await self.event.wait()

    async def waiters(self) -> int:
        return self.waiting

    async def open(self) -> None:
        self.event.set()


def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@ember.remote
def wait_on(refs):
    return ember.get(refs[0])


@pytest.fixture
def one_cpu(shutdown_after):
    ember.init(num_cpus=1)


@pytest.fixture
def two_cpus(shutdown_after):
    ember.init(num_cpus=2)


def test_cancel_interrupts_a_task_waiting_in_get(two_cpus):
    @ember.remote
    def handles_interrupt(gate):
        try:
            ember.get(gate.wait.remote())
        except KeyboardInterrupt:
            if ember.get_runtime_context().is_canceled():
                return "canceled"
        return "completed"

    gate = Gate.remote()
    ref = handles_interrupt.remote(gate)
    _until(lambda: ember.get(gate.waiters.remote()) == 1)
    ember.cancel(ref)
    ember.get(gate.open.remote())
    assert ember.get(ref, timeout=30) == "canceled"


def test_an_interrupted_task_fails_as_a_cancelled_task_error(two_cpus):
    gate = Gate.remote()
    ref = wait_on.remote([gate.wait.remote()])
    _until(lambda: ember.get(gate.waiters.remote()) == 1)
    ember.cancel(ref)
    with pytest.raises(RayTaskError, match="TaskCancelledError") as info:
        ember.get(ref, timeout=30)
    assert isinstance(info.value, TaskCancelledError)
    # As in Ray, a task stopped by its own cancellation is listed FINISHED, not FAILED.
    _until(lambda: [t["state"] for t in list_tasks(filters=[("task_id", "=", ref.task_id().hex())])]
           == ["FINISHED"])
    assert {t["func_or_class_name"] for t in list_tasks()} >= {"wait_on", "Gate.wait"}


def test_cancel_while_arguments_are_read_never_runs_the_task(two_cpus, tmp_path):
    marker = tmp_path / "ran"

    class SlowToRead:
        def __init__(self, gate_file: str) -> None:
            self.gate_file = gate_file

        def __reduce__(self):
            return _slow_read, (self.gate_file,)

    @ember.remote
    def body(_arg, path):
        with open(path, "w") as f:
            f.write("ran")

    started = tmp_path / "reading"
    ref = body.remote(SlowToRead(str(started)), str(marker))
    _until(started.exists)  # the worker is inside the argument's unpickling
    ember.cancel(ref)
    (tmp_path / "reading.go").write_text("")
    with pytest.raises(TaskCancelledError):
        ember.get(ref, timeout=30)
    assert not marker.exists()


def _slow_read(gate_file: str) -> None:
    with open(gate_file, "w") as f:
        f.write("")
    _until(lambda: os.path.exists(gate_file + ".go"))


def test_a_worker_interrupted_in_get_lends_its_cpu_again(one_cpu):
    @ember.remote
    def leaf():
        return 1

    @ember.remote
    def nested():
        return ember.get(leaf.remote())  # needs the one CPU lent while it waits

    for _ in range(3):
        gate = Gate.remote()
        ref = wait_on.remote([gate.wait.remote()])
        _until(lambda gate=gate: ember.get(gate.waiters.remote()) == 1)
        ember.cancel(ref)
        with pytest.raises(TaskCancelledError):
            ember.get(ref, timeout=30)
        assert ember.get(nested.remote(), timeout=30) == 1


def test_a_chain_of_waiting_tasks_is_cancelled_link_by_link(two_cpus):
    gate = Gate.remote()
    first = wait_on.remote([gate.wait.remote()])
    second = wait_on.remote([first])
    third = wait_on.remote([second])
    assert ember.wait([third], timeout=0.1)[0] == []
    ember.cancel(second)
    for ref in (second, third):
        with pytest.raises(TaskCancelledError):
            ember.get(ref, timeout=30)
    with pytest.raises(GetTimeoutError):
        ember.get(first, timeout=0.1)
    ember.get(gate.open.remote())
    assert ember.get(first, timeout=30) is None


def test_a_cancelled_actor_call_that_has_not_started_never_runs(two_cpus):
    @ember.remote
    class Log:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def block(self, gate) -> None:
            ember.get(gate.wait.remote())
            self.calls.append("block")

        def note(self, what: str) -> str:
            self.calls.append(what)
            return what

        def log(self) -> list[str]:
            return self.calls

    gate = Gate.remote()
    log = Log.remote()
    blocked = log.block.remote(gate)
    _until(lambda: ember.get(gate.waiters.remote()) == 1)
    skipped = log.note.remote("skipped")
    time.sleep(0.2)  # let the call reach the actor's queue (either way it must not run)
    ember.cancel(skipped)
    ember.get(gate.open.remote())
    ember.get(blocked, timeout=30)
    with pytest.raises(TaskCancelledError):
        ember.get(skipped, timeout=30)
    assert ember.get(log.log.remote(), timeout=30) == ["block"]


def test_recursive_cancel_reaches_the_children(two_cpus):
    @ember.remote
    def child(gate):
        ember.get(gate.wait.remote())

    @ember.remote
    def parent(gate):
        return ember.get(child.remote(gate))

    gate = Gate.remote()
    ref = parent.remote(gate)
    _until(lambda: ember.get(gate.waiters.remote()) == 1)
    ember.cancel(ref)
    with pytest.raises(TaskCancelledError):
        ember.get(ref, timeout=30)
    children = lambda: list_tasks(filters=[("func_or_class_name", "=", "child")])  # noqa: E731
    _until(lambda: [t["state"] for t in children()] == ["FINISHED"])


@pytest.fixture
def three_nodes(shutdown_after):
    cluster = Cluster()
    cluster.add_node(num_cpus=0)
    ember.init(address=cluster.address)
    cluster.add_node(num_cpus=1, resources={"first": 1})
    cluster.add_node(num_cpus=1, resources={"second": 1})
    cluster.wait_for_nodes()
    yield cluster
    ember.shutdown()
    cluster.shutdown()


@pytest.mark.parametrize("force", [False, True])
def test_cancel_reaches_a_task_owned_by_another_node(three_nodes, force):
    @ember.remote(resources={"first": 1})
    def waits(refs):
        return ember.get(refs[0])

    @ember.remote(resources={"second": 1})
    def starts(refs):
        return [waits.remote(refs)]  # owned by the node this runs on

    gate = Gate.remote()
    inner = ember.get(starts.remote([gate.wait.remote()]), timeout=60)[0]
    with pytest.raises(GetTimeoutError):
        ember.get(inner, timeout=0.5)
    ember.cancel(inner, force=force)
    with pytest.raises(TaskCancelledError):
        ember.get(inner, timeout=30)


def test_a_cancelled_task_is_not_run_again_to_rebuild_a_lost_result(shutdown_after):
    import numpy as np

    from ember.exceptions import ObjectReconstructionFailedError

    cluster = Cluster()
    cluster.add_node(num_cpus=0)
    ember.init(address=cluster.address)
    worker = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    try:
        @ember.remote(num_cpus=2)
        def produce():
            return np.zeros(1 << 20)  # large: it stays in the store of the node that ran it

        @ember.remote(num_cpus=2)
        def consume(refs):
            return ember.get(refs[0])

        ref = produce.remote()
        # fetch_local=False: ready once it exists on its node, and not copied here.
        assert ember.wait([ref], fetch_local=False, timeout=60)[0] == [ref]
        ember.cancel(ref)
        cluster.remove_node(worker)
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        with pytest.raises(ObjectReconstructionFailedError):
            ember.get(consume.remote([ref]), timeout=60)
    finally:
        ember.shutdown()
        cluster.shutdown()
