"""Handles from `get_actor` and `current_actor` are weak, as in Ray: a non-detached actor
ends with its last handle from `.remote()` (or passed on from one), whatever handles got
by name or from inside the actor still exist."""

from __future__ import annotations

import os
import time

import pytest
from procs import is_running

import ember


@pytest.fixture(autouse=True)
def two_cpus(shutdown_after):
    ember.init(num_cpus=2)
    yield


@ember.remote
class Actor:
    def getpid(self):
        return os.getpid()

    def hello(self):
        return "hello"

    def hand_self_to(self, holder):
        ember.get(holder.keep.remote(ember.get_runtime_context().current_actor))

    def hand_by_name_to(self, name, holder):
        ember.get(holder.keep.remote(ember.get_actor(name)))


@ember.remote
class Holder:
    def keep(self, handle):
        self.handle = handle

    def call_kept(self):
        return ember.get(self.handle.hello.remote())


def _exits(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_handle_got_by_name_does_not_keep_the_actor_alive():
    actor = Actor.options(name="weak-by-name").remote()
    pid = ember.get(actor.getpid.remote())
    by_name = ember.get_actor("weak-by-name")
    assert ember.get(by_name.hello.remote()) == "hello"  # usable while the actor lives
    del actor
    assert _exits(pid)
    with pytest.raises(ValueError):
        ember.get_actor("weak-by-name")
    assert by_name is not None


def test_weak_handles_passed_to_other_actors_stay_weak():
    holder = Holder.remote()
    a = Actor.remote()
    pid = ember.get(a.getpid.remote())
    ember.get(a.hand_self_to.remote(holder))
    del a
    assert _exits(pid)

    b = Actor.options(name="weak-passed").remote()
    pid = ember.get(b.getpid.remote())
    helper = Actor.remote()
    ember.get(helper.hand_by_name_to.remote("weak-passed", holder))
    del b
    assert _exits(pid)


def test_a_strong_handle_passed_on_still_keeps_the_actor_alive():
    holder = Holder.remote()
    a = Actor.remote()
    pid = ember.get(a.getpid.remote())
    ember.get(holder.keep.remote(a))
    del a
    for _ in range(3):
        assert ember.get(holder.call_kept.remote()) == "hello"
    assert is_running(pid)
