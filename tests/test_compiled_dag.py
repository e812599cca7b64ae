"""Compiled graphs (`dag.experimental_compile()`), as Ray's: real actors, shared-memory
channels, results through ember.get, errors, limits, teardown and actor death."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

import ember
from ember import exceptions as ex
from ember.dag import InputNode, MultiOutputNode
from ember.experimental.compiled_dag_ref import CompiledDAGRef

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
class Worker:
    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0

    def echo(self, x):
        return x

    def inc(self, x, by=1):
        self.calls += 1
        return x + by

    def add(self, a, b):
        return a + b

    def check(self, x):
        if x < 0:
            raise ValueError(f"negative: {x}")
        return x

    def wait_gate(self, x):
        self.gate.wait()
        return x

    def open_gate(self):
        self.gate.set()

    def count(self):
        return self.calls

    def pid(self):
        return os.getpid()


@ember.remote
class AsyncWorker:
    """An async actor (it has a coroutine method): its calls run on an event loop."""

    async def aecho(self, x):
        await asyncio.sleep(0)
        return x


def test_two_actor_chain_runs_many_executions():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = b.inc.bind(a.inc.bind(inp), by=10)
    compiled = dag.experimental_compile()
    try:
        assert ember.get(compiled.execute(1)) == 12
        refs = [compiled.execute(i) for i in range(5)]  # pipelined, read out of order
        assert refs[3].get() == 14
        assert ember.get([refs[0], refs[1], refs[2], refs[4]]) == [11, 12, 13, 15]
    finally:
        compiled.teardown()


def test_results_come_back_in_any_order():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = b.echo.bind(a.echo.bind(inp))
    compiled = dag.experimental_compile()
    try:
        refs = [compiled.execute(i) for i in range(5)]
        assert isinstance(refs[0], CompiledDAGRef)
        assert refs[3].get() == 3
        assert ember.get([refs[0], refs[4], refs[1], refs[2]]) == [0, 4, 1, 2]
        with pytest.raises(ValueError, match="only be called once"):
            refs[3].get()
        # The actors still serve ordinary calls while their loops run.
        assert ember.get(a.echo.remote("plain")) == "plain"
    finally:
        compiled.teardown()


def test_multi_output_and_several_inputs():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        first = a.add.bind(inp[0], inp[1])
        dag = MultiOutputNode([first, b.add.bind(first, inp.scale), a.echo.bind(inp[1])])
    compiled = dag.experimental_compile()
    try:
        refs = compiled.execute(2, 3, scale=100)
        assert isinstance(refs, list) and len(refs) == 3
        assert ember.get(refs) == [5, 105, 3]
        assert ember.get(compiled.execute(10, 20, scale=0)) == [30, 30, 20]
        with pytest.raises(ValueError, match="positional args"):
            compiled.execute(1)
    finally:
        compiled.teardown()


def test_same_actor_twice_and_constant_arguments():
    a = Worker.remote()
    with InputNode() as inp:
        dag = a.inc.bind(a.inc.bind(inp, by=5), by=[1, 2][1])
    compiled = dag.experimental_compile()
    try:
        assert [ember.get(compiled.execute(i)) for i in range(3)] == [7, 8, 9]
        assert ember.get(a.count.remote()) == 6
    finally:
        compiled.teardown()


def test_error_surfaces_as_task_error_and_graph_keeps_working():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = b.inc.bind(a.check.bind(inp))
    compiled = dag.experimental_compile()
    try:
        with pytest.raises(ValueError, match="negative: -1") as info:
            ember.get(compiled.execute(-1))
        assert isinstance(info.value, ex.RayTaskError)
        assert "Worker.check" in str(info.value)
        assert ember.get(b.count.remote()) == 0  # the downstream call did not run
        assert ember.get(compiled.execute(4)) == 5
    finally:
        compiled.teardown()


def test_max_inflight_executions_is_enforced():
    a = Worker.remote()
    with InputNode() as inp:
        dag = a.echo.bind(inp)
    compiled = dag.experimental_compile(_max_inflight_executions=2)
    try:
        r1, r2 = compiled.execute(1), compiled.execute(2)
        with pytest.raises(ex.RayCgraphCapacityExceeded, match="in-flight executions"):
            compiled.execute(3)
        assert r1.get() == 1
        r3 = compiled.execute(3)
        assert ember.get([r2, r3]) == [2, 3]
        for i in range(10):  # results dropped unread are released, not counted
            compiled.execute(i)
        assert ember.get(compiled.execute("last")) == "last"
    finally:
        compiled.teardown()


def test_large_values_overflow_the_slot():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = b.echo.bind(a.echo.bind(inp))
    compiled = dag.experimental_compile(_buffer_size_bytes=1024)
    try:
        big = os.urandom(200_000)
        assert ember.get(compiled.execute(big)) == big
        assert ember.get(compiled.execute(b"small")) == b"small"
    finally:
        compiled.teardown()
    assert not os.path.exists(compiled._dir)


def test_get_timeout_raises_get_timeout_error():
    a = Worker.remote()
    with InputNode() as inp:
        dag = a.wait_gate.bind(inp)
    compiled = dag.experimental_compile()
    try:
        ref = compiled.execute("late")
        with pytest.raises(ex.GetTimeoutError) as info:
            ember.get(ref, timeout=0.05)
        assert isinstance(info.value, ex.RayChannelTimeoutError)
        assert isinstance(info.value, TimeoutError)
        ember.get(a.open_gate.remote())  # an ordinary call, while the loop waits
        assert ember.get(compiled.execute("next"), timeout=30) == "next"
    finally:
        compiled.teardown()


def test_teardown_then_compile_again():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = b.echo.bind(a.echo.bind(inp))
    compiled = dag.experimental_compile()
    assert ember.get(compiled.execute(1)) == 1
    directory = compiled._dir
    compiled.teardown()
    compiled.teardown()  # idempotent
    assert not os.path.exists(directory)
    with pytest.raises(ex.RayChannelError, match="torn down"):
        compiled.execute(2)
    again = dag.experimental_compile()
    try:
        assert ember.get(again.execute(3)) == 3
        assert ember.get(b.echo.remote(4)) == 4
    finally:
        again.teardown()


def test_killed_actor_raises_actor_died_error():
    actors = [Worker.remote() for _ in range(3)]
    with InputNode() as inp:
        dag = MultiOutputNode([w.echo.bind(inp) for w in actors])
    compiled = dag.experimental_compile()
    assert ember.get(compiled.execute(1)) == [1, 1, 1]
    ember.kill(actors[0])
    ref = compiled.execute(2)
    with pytest.raises(ex.ActorDiedError, match="compiled graph"):
        ember.get(ref, timeout=60)
    assert not os.path.exists(compiled._dir)  # torn down
    assert ember.get(actors[1].echo.remote("alive")) == "alive"


def test_execute_async_through_sync_and_async_actors():
    a, b = Worker.remote(), AsyncWorker.remote()
    with InputNode() as inp:
        dag = b.aecho.bind(a.inc.bind(inp))
    compiled = dag.experimental_compile(enable_asyncio=True)

    async def main():
        futs = [await compiled.execute_async(i) for i in range(3)]
        return [await f for f in futs]

    try:
        assert asyncio.run(main()) == [1, 2, 3]
        with pytest.raises(ValueError, match="execute_async"):
            compiled.execute(1)
    finally:
        compiled.teardown()


def test_unsupported_graphs_are_refused():
    @ember.remote
    def f(x):
        return x

    with InputNode() as inp:
        dag = f.bind(inp)
    with pytest.raises(NotImplementedError, match="existing actors"):
        dag.experimental_compile()
    a = Worker.remote()
    with InputNode() as inp:
        dag = a.echo.bind([inp])
    with pytest.raises(NotImplementedError, match="nested"):
        dag.experimental_compile()


def test_shutdown_tears_down_compiled_graphs():
    from ember import _compiled_dag

    a = Worker.remote()
    with InputNode() as inp:
        dag = a.echo.bind(inp)
    compiled = dag.experimental_compile()
    assert compiled in set(_compiled_dag._live)
    _compiled_dag.teardown_all()  # what ember.shutdown() runs first
    assert not os.path.exists(compiled._dir)
    assert not set(_compiled_dag._live)


def test_calls_with_constant_arguments_run_once_per_execution():
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = MultiOutputNode([a.inc.bind(100), b.echo.bind(inp)])
    compiled = dag.experimental_compile()
    try:
        assert [ember.get(compiled.execute(i)) for i in range(3)] == [
            [101, 0], [101, 1], [101, 2]]
        assert ember.get(a.count.remote()) == 3
    finally:
        compiled.teardown()



def test_spinning_channel_reads_take_every_message_in_order(tmp_path):
    """A reader that spins before sleeping (as a compiled graph's reads do where cores
    are spare) gets each message once, in order, slot-sized or not, from a writer in
    another process; closing the channel ends a reader spinning on it."""
    from ember.experimental.channel import (
        ChannelClosed,
        ChannelReader,
        ChannelWriter,
        close_channel,
        create_channel,
    )

    spec = create_channel(str(tmp_path), "c", slots=4, slot_bytes=64)
    messages = [str(i).encode() * (1 if i % 7 else 40) for i in range(2000)]
    reader = ChannelReader(spec, spin_s=1e-3)
    pid = os.fork()
    if pid == 0:  # the writer: as fast as the four slots allow
        try:
            writer = ChannelWriter(spec)
            for i, m in enumerate(messages):
                writer.write(i % 3, m, timeout=30)
            writer.close()
        finally:
            os._exit(0)
    try:
        got = [reader.read(timeout=30) for _ in messages]
    finally:
        os.waitpid(pid, 0)
    assert got == [(i % 3, m) for i, m in enumerate(messages)]
    close_channel(spec)
    with pytest.raises(ChannelClosed):
        reader.read(timeout=30)
    reader.close()


def test_a_graph_whose_reads_spin_runs_errors_and_tears_down(monkeypatch):
    monkeypatch.setenv("EMBER_CGRAPH_SPIN_US", "200")
    a, b = Worker.remote(), Worker.remote()
    with InputNode() as inp:
        dag = b.check.bind(a.inc.bind(inp))
    compiled = dag.experimental_compile(_buffer_size_bytes=1024)
    try:
        assert [ember.get(compiled.execute(i)) for i in range(200)] == \
            [i + 1 for i in range(200)]
        with pytest.raises(ValueError, match="negative: -1"):
            ember.get(compiled.execute(-2))
        big = list(range(1000))  # over the 1 KiB slot
        refs = [compiled.execute(i) for i in range(5)]
        assert ember.get(refs) == [1, 2, 3, 4, 5]
        with pytest.raises(TypeError):
            ember.get(compiled.execute(big))
        assert ember.get(a.count.remote()) == 207  # ordinary calls between executions
    finally:
        compiled.teardown()
    assert not os.path.exists(compiled._dir)
