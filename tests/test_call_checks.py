"""Calls are checked at `.remote()`, as Ray checks them: arguments against the signature,
and the size of the code being shipped."""

from __future__ import annotations

import pytest

import ember


@ember.remote
def keyword_fn(a, b="hello"):
    return f"{a} {b}"


@ember.remote
def star_fn(a, x="hello", *args, **kwargs):
    return a, x, args, kwargs


@ember.remote
class Target:
    def __init__(self, x, y=0):
        self.x = x

    def method(self, a, *, k):
        return a, k

    @staticmethod
    def static(a):
        return a

    @classmethod
    def klass(cls, a):
        return a


def test_matching_calls_run(cluster):
    assert ember.get(keyword_fn.remote(1)) == "1 hello"
    assert ember.get(keyword_fn.remote(a=1, b="world")) == "1 world"
    assert ember.get(star_fn.remote(1, 2, 3, y=4)) == (1, 2, (3,), {"y": 4})
    t = Target.remote(1)
    assert ember.get(t.method.remote(1, k=2)) == (1, 2)
    assert ember.get([t.static.remote(3), t.klass.remote(4)]) == [3, 4]


@pytest.mark.parametrize("call", [
    lambda: keyword_fn.remote(),
    lambda: keyword_fn.remote(1, 2, 3),
    lambda: keyword_fn.remote(1, c=2),
    lambda: star_fn.remote(x=1),
    lambda: Target.remote(),
    lambda: Target.remote(1, 2, 3),
])
def test_mismatched_calls_raise_type_error_at_the_call_site(cluster, call):
    with pytest.raises(TypeError):
        call()


def test_mismatched_actor_method_calls_raise(cluster):
    t = Target.remote(1)
    with pytest.raises(TypeError, match="'k'"):
        t.method.remote(1)
    with pytest.raises(TypeError):
        t.static.remote()
    with pytest.raises(TypeError):
        t.klass.remote(1, 2)
    assert ember.get(t.method.remote(5, k=6)) == (5, 6)


def test_code_capturing_a_huge_object_is_refused(cluster):
    bar = bytearray(100 * 1024 * 1024)

    @ember.remote
    def f():
        return len(bar)

    @ember.remote
    class Actor:
        def foo(self):
            return len(bar)

    with pytest.raises(ValueError, match="The remote function .*f is too large"):
        f.remote()
    with pytest.raises(ValueError, match="The actor Actor is too large"):
        Actor.remote()


def test_actor_task_names_use_the_class_name(cluster):
    @ember.remote
    class Named:
        def who(self):
            return ember.get_runtime_context().get_task_name()

    assert ember.get(Named.remote().who.remote()) == "Named.who"


def test_underscore_remote_spelling(cluster):
    @ember.remote
    def f(n):
        return list(range(n))

    assert f._remote([0], num_returns=0) is None
    a, b = f._remote(args=[2], num_returns=2)
    assert ember.get([a, b]) == [0, 1]
    t = Target._remote(args=[1], kwargs={"y": 2})
    assert ember.get(t.method._remote(args=[1], kwargs={"k": 3})) == (1, 3)


def test_wait_on_an_empty_list(cluster):
    assert ember.wait([]) == ([], [])
    assert ember.wait([], num_returns=0) == ([], [])
