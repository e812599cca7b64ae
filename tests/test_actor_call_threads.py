"""The threads of a threaded actor's concurrency group: each of the first
`max_concurrency` calls gets a thread of its own (also when each call ends before the
next arrives), later calls take turns on them, and the threads live as long as the actor,
so `threading.local` data set by a call is there for later calls on the same thread."""

from __future__ import annotations

import threading

import pytest

import ember


@pytest.fixture(scope="module")
def cluster():
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@ember.remote(concurrency_groups={"io": 2})
class Threads:
    def __init__(self):
        self.local = threading.local()

    def count(self) -> tuple[int, int]:
        """This thread's id and how many calls it has run."""
        self.local.calls = getattr(self.local, "calls", 0) + 1
        return threading.get_ident(), self.local.calls


def _calls_per_thread_add_up(seen: list[tuple[int, int]]) -> bool:
    """Each call saw its thread's earlier calls in its thread-local counter."""
    before: dict[int, int] = {}
    for tid, n in seen:
        before[tid] = before.get(tid, 0) + 1
        if n != before[tid]:
            return False
    return True


def test_each_thread_of_the_default_group_is_used_and_keeps_its_locals(cluster):
    actor = Threads.options(max_concurrency=3).remote()
    # One call at a time: each ends before the next is sent.
    seen = [ember.get(actor.count.remote(), timeout=30) for _ in range(9)]
    assert len({tid for tid, _ in seen[:3]}) == 3
    # Later calls run on the same three threads, which kept their thread-local data.
    assert {tid for tid, _ in seen} == {tid for tid, _ in seen[:3]}
    assert _calls_per_thread_add_up(seen)


def test_a_named_group_uses_all_its_threads(cluster):
    actor = Threads.remote()
    seen = [ember.get(actor.count.options(concurrency_group="io").remote(), timeout=30)
            for _ in range(6)]
    assert len({tid for tid, _ in seen[:2]}) == 2
    assert len({tid for tid, _ in seen}) == 2
    assert _calls_per_thread_add_up(seen)
