"""Ray's option rules and messages where options are declared, `@remote()` refused,
`ObjectRef[T]` in annotations, actor namespaces checked, and `init(job_config=...)`."""

from __future__ import annotations

import os
import re

import pytest

import ember
from ember.job_config import JobConfig


def f():
    return 1


class A:
    x = 1


def _type_message(key: str, types: tuple) -> str:
    return re.escape(f"The type of keyword '{key}' must be {types}, but received type "
                     f"{float}")


@pytest.mark.parametrize("key", ["max_retries", "max_calls"])
def test_task_counts_of_the_wrong_type_fail_at_the_decorator(key):
    with pytest.raises(TypeError, match=_type_message(key, (int, type(None)))):
        ember.remote(**{key: 0.5})(f)


def test_num_returns_of_the_wrong_type_or_value_fails_at_the_decorator():
    with pytest.raises(TypeError, match=_type_message("num_returns", (int, str, type(None)))):
        ember.remote(num_returns=0.5)(f)
    with pytest.raises(ValueError, match=r"The keyword 'num_returns' only accepts None, a "
                       r"non-negative integer, 'streaming' \(for generators\), or 'dynamic'"):
        ember.remote(num_returns=-1)(f)


@pytest.mark.parametrize("key", ["max_restarts", "max_task_retries"])
def test_actor_counts_fail_at_the_decorator(key):
    with pytest.raises(TypeError, match=_type_message(key, (int, type(None)))):
        ember.remote(**{key: 0.5})(A)
    with pytest.raises(ValueError, match=f"The keyword '{key}' only accepts None, 0, -1 or a "
                       "positive integer, where -1 represents infinity"):
        ember.remote(**{key: -2})(A)


def test_negative_counts_name_the_rule_and_the_value():
    with pytest.raises(ValueError, match="The keyword 'max_calls' only accepts None, 0 or a "
                       "positive integer") as e:
        ember.remote(max_calls=-1)(f)
    assert "max_calls=-1" in str(e.value)
    with pytest.raises(ValueError, match="max_retries.*-1 represents infinity"):
        ember.remote(max_retries=-5)(f)
    with pytest.raises(ValueError, match="max_retries"):
        ember.remote(f).options(max_retries=-5)


@pytest.mark.parametrize("options, name", [({"num_gpus": 0.0000001}, "num_gpus"),
                                           ({"resources": {"custom": 0.0000001}}, "custom")])
def test_resource_quantities_finer_than_ray_units_are_refused(options, name):
    with pytest.raises(ValueError, match=f"The precision of the fractional quantity of "
                       f"resource {name} cannot go beyond 0.0001"):
        ember.remote(**options)(f)
    ember.remote(num_gpus=0.0001)(f)  # the finest quantity Ray accepts


def test_remote_with_empty_parentheses_is_refused():
    with pytest.raises(TypeError, match="no arguments and no parentheses"):
        ember.remote()(A)
    assert ember.remote(num_cpus=1)(A) is not None


def test_object_ref_is_generic_in_annotations():
    alias = ember.ObjectRef[int]
    assert alias.__origin__ is ember.ObjectRef
    assert alias.__args__ == (int,)


def test_an_empty_actor_namespace_is_refused(shutdown_after):
    ember.init(num_cpus=1)

    @ember.remote
    class Named:
        def ping(self):
            return "pong"

    with pytest.raises(ValueError, match="is not a valid namespace"):
        Named.options(name="n", namespace="", lifetime="detached").remote()
    with pytest.raises(TypeError, match="namespace"):
        Named.options(name="n", namespace=2).remote()
    assert ember.get(Named.options(name="n", namespace="ns").remote().ping.remote()) == "pong"


def test_job_config_sets_the_namespace_and_runtime_env(shutdown_after):
    config = JobConfig(code_search_path=[os.getcwd()], ray_namespace="from-config",
                       runtime_env={"env_vars": {"JOB_CONFIG_VAR": "yes"}},
                       metadata={"owner": "tests"})
    config.set_metadata("team", "core")
    ember.init(num_cpus=1, job_config=config)
    assert ember.get_runtime_context().namespace == "from-config"

    @ember.remote
    def read_env():
        return os.environ.get("JOB_CONFIG_VAR")

    assert ember.get(read_env.remote()) == "yes"
    assert config.metadata == {"owner": "tests", "team": "core"}


def test_job_config_checks_its_arguments():
    with pytest.raises(TypeError, match="code search path"):
        JobConfig(code_search_path="not-a-list")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="actor lifetime"):
        JobConfig(default_actor_lifetime="forever")
    with pytest.raises(TypeError, match="job_config"):
        ember.init(job_config={"ray_namespace": "x"})
    assert JobConfig.from_json('{"ray_namespace": "n"}').ray_namespace == "n"


def test_the_first_call_starts_a_cluster_unless_auto_connect_is_off(shutdown_after,
                                                                   monkeypatch):
    @ember.remote
    class Foo:
        def get_val(self):
            return 3

    monkeypatch.setenv("RAY_ENABLE_AUTO_CONNECT", "0")
    with pytest.raises(ember.exceptions.RaySystemError, match="ember.init"):
        Foo.remote()
    assert not ember.is_initialized()
    monkeypatch.delenv("RAY_ENABLE_AUTO_CONNECT")
    assert ember.get(Foo.remote().get_val.remote()) == 3  # auto-init, as Ray
    assert ember.is_initialized()


def test_a_default_actor_needs_a_free_cpu_to_be_placed_but_holds_none(shutdown_after):
    ember.init(num_cpus=1)

    @ember.remote
    class Default:
        def ping(self):
            return "pong"

    # Placed where 1 CPU is free, then holds none: two default actors on a 1-CPU node.
    first, second = Default.remote(), Default.remote()
    assert ember.get([first.ping.remote(), second.ping.remote()]) == ["pong", "pong"]
    assert ember.available_resources().get("CPU") == 1.0
    ember.shutdown()

    ember.init(num_cpus=0)
    waiting = Default.remote()
    ready, _ = ember.wait([waiting.ping.remote()], timeout=0.5)
    assert ready == []  # no node has a CPU to place it on: it stays pending, as in Ray
    explicit = Default.options(num_cpus=0).remote()  # asked for no CPU: placed anywhere
    assert ember.get(explicit.ping.remote()) == "pong"


def test_tasks_waiting_on_a_default_actor_lend_it_the_cpu_it_needs(shutdown_after):
    ember.init(num_cpus=2)

    @ember.remote
    class Shared:
        def ping(self):
            return "ok"

    @ember.remote
    def getter():
        a = Shared.options(name="shared", namespace="n", get_if_exists=True).remote()
        return ember.get(a.ping.remote())

    # Every CPU is taken by a getter: the actor is placed on the CPU a blocked getter
    # lends, before the queued getters take it (as in Ray).
    assert ember.get([getter.remote() for _ in range(4)], timeout=60) == ["ok"] * 4
