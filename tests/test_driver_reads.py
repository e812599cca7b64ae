"""A driver blocked in `get` reads the replies of the workers it waits on itself (no hand-off
from the node's IO thread); every way such a wait can end still ends it correctly."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest
from waiting import wait_until

import ember
from ember._core.node.node_manager import NodeManager
from ember.exceptions import ActorDiedError, TaskCancelledError

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
def square(x):
    return x * x


@ember.remote
class Counter_:
    def __init__(self):
        self.n = 0

    def add(self, k=1):
        self.n += k
        return self.n

    def die(self):
        os._exit(1)


def test_sync_results_are_read_on_the_callers_thread(monkeypatch):
    seen: Counter[str] = Counter()
    original = NodeManager.on_worker_message_safely

    def spy(self, w, msg):
        if type(msg).__name__ == "TaskDone":
            seen[threading.current_thread().name] += 1
        return original(self, w, msg)

    monkeypatch.setattr(NodeManager, "on_worker_message_safely", spy)
    c = Counter_.remote()
    ember.get(c.add.remote())
    seen.clear()
    for i in range(200):
        assert ember.get(c.add.remote()) == i + 2
        assert ember.get(square.remote(i)) == i * i
    # A reply that is already in when get() starts is handled by the IO thread (how many
    # depends on the machine's load); the rest by the caller. All 400 arrive.
    assert sum(seen.values()) == 400
    assert seen["MainThread"] > 0, seen


def test_threads_waiting_on_one_actor_all_get_their_results():
    c = Counter_.remote()
    out: list[int] = []
    lock = threading.Lock()

    def caller():
        for _ in range(50):
            v = ember.get(c.add.remote())
            with lock:
                out.append(v)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(out) == list(range(1, 201))


def test_a_worker_dying_while_read_retries_elsewhere(tmp_path):
    marker = tmp_path / "died-once"

    @ember.remote(max_retries=1)
    def dies_once(path):
        if not os.path.exists(path):
            open(path, "w").close()
            os._exit(1)
        return "second try"

    assert ember.get(dies_once.remote(str(marker))) == "second try"


def test_an_actor_dying_while_read_fails_the_wait():
    c = Counter_.remote()
    assert ember.get(c.add.remote()) == 1
    with pytest.raises(ActorDiedError):
        ember.get(c.die.remote())
    assert ember.get(square.remote(3)) == 9  # the node keeps serving


def test_a_cancel_from_another_thread_ends_the_wait(tmp_path):
    started = tmp_path / "started"

    @ember.remote
    def wait_forever(path):
        open(path, "w").close()
        threading.Event().wait()

    ref = wait_forever.remote(str(started))

    def cancel_when_running():
        wait_until(started.exists, "the task started")
        ember.cancel(ref)

    t = threading.Thread(target=cancel_when_running)
    t.start()
    with pytest.raises(TaskCancelledError):
        ember.get(ref)
    t.join(30)
    assert ember.get(square.remote(4)) == 16


def test_a_task_that_submits_work_is_served_while_its_caller_reads_it():
    @ember.remote
    def outer(n):
        return sum(ember.get([square.remote(i) for i in range(n)]))

    assert ember.get(outer.remote(20)) == sum(i * i for i in range(20))


def test_a_result_another_thread_reads_wakes_the_waiting_thread():
    c = Counter_.remote()
    stop = threading.Event()

    def busy():  # keeps reading the actor's socket on its own thread
        while not stop.is_set():
            ember.get(c.add.remote(0))

    t = threading.Thread(target=busy)
    t.start()
    try:
        for i in range(100):
            # The call's reply is read by the other thread or the IO loop: this thread,
            # reading the task's worker, must still wake up for it.
            _, sq = ember.get([c.add.remote(0), square.remote(i)])
            assert sq == i * i
    finally:
        stop.set()
        t.join(30)
