"""get_runtime_context() as Ray's: ids, the deprecated id properties, the context dict,
task function names, session names, and whether an actor was reconstructed."""

from __future__ import annotations

import os
import signal
import warnings

import pytest

import ember


def test_context_dict_and_deprecated_ids(cluster):
    rtc = ember.get_runtime_context()
    d = rtc.get()
    assert d["node_id"].hex() == rtc.get_node_id() and d["job_id"].hex() == rtc.get_job_id()
    assert "actor_id" not in d and "task_id" not in d
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert rtc.node_id.hex() == rtc.get_node_id()
        assert rtc.job_id.hex() == rtc.get_job_id()
    assert any("Use get_node_id() instead" in str(x.message) for x in w)

    @ember.remote
    def inside():
        c = ember.get_runtime_context()
        return sorted(c.get()), c.get_session_name()

    keys, session = ember.get(inside.remote())
    assert "task_id" in keys and "actor_id" not in keys
    assert session == rtc.get_session_name() and session


@ember.remote
def function_name():
    return ember.get_runtime_context().get_task_function_name()


@ember.remote
class Named:
    def name(self):
        return ember.get_runtime_context().get_task_function_name()

    async def async_name(self):
        return ember.get_runtime_context().get_task_function_name()


def test_task_function_names(cluster):
    assert ember.get(function_name.remote()) == f"{__name__}.function_name"
    a = Named.remote()
    assert ember.get(a.name.remote()) == f"{__name__}.Named.name"
    assert ember.get(a.async_name.remote()) == f"{__name__}.Named.async_name"
    assert ember.get_runtime_context().get_task_function_name() is None

    @ember.remote
    class Local:  # as in Ray: a sync method by class name, an async one by qualified name
        def sync_name(self):
            return ember.get_runtime_context().get_task_function_name()

        async def async_name(self):
            return ember.get_runtime_context().get_task_function_name()

    b = Local.remote()
    assert ember.get(b.sync_name.remote()) == f"{__name__}.Local.sync_name"
    assert ember.get(b.async_name.remote()) == \
        f"{__name__}.test_task_function_names.<locals>.Local.async_name"


@ember.remote(max_restarts=1)
class Phoenix:
    def __init__(self):
        self.at_start = ember.get_runtime_context().was_current_actor_reconstructed

    def report(self):
        return self.at_start, ember.get_runtime_context().was_current_actor_reconstructed

    def pid(self):
        return os.getpid()


def test_was_current_actor_reconstructed(cluster):
    a = Phoenix.remote()
    assert ember.get(a.report.remote()) == (False, False)
    os.kill(ember.get(a.pid.remote()), signal.SIGKILL)
    deadline = 30
    import time

    end = time.monotonic() + deadline
    while True:
        try:
            assert ember.get(a.report.remote(), timeout=10) == (True, True)
            break
        except ember.exceptions.RayActorError:
            if time.monotonic() > end:
                pytest.fail("the actor did not come back")


def test_actor_name_is_the_name_it_was_created_with(cluster):
    @ember.remote
    class NamedActor:
        def name(self):
            return ember.get_runtime_context().get_actor_name()

    assert ember.get(NamedActor.options(name="actor_name").remote().name.remote()) == \
        "actor_name"
    assert ember.get(NamedActor.remote().name.remote()) == ""  # Ray's: "" in an actor

    @ember.remote
    def task_actor_name():
        return ember.get_runtime_context().get_actor_name()

    assert ember.get(task_actor_name.remote()) is None
    assert ember.get_runtime_context().get_actor_name() is None


def test_current_actor_calls_itself(cluster):
    @ember.remote
    class Echo:
        def echo(self, s):
            return ember.get_runtime_context().current_actor.echo2.remote(s)

        def echo2(self, s):
            return s

    e = Echo.remote()
    assert ember.get(ember.get(e.echo.remote("hello"))) == "hello"
    with pytest.raises(RuntimeError, match="inside an actor"):
        _ = ember.get_runtime_context().current_actor
