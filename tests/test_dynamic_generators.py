"""Generator tasks with a fixed number of returns and Ray's `num_returns="dynamic"`,
as in Ray's generator docs: values, errors part way, and passing the generator on."""

from __future__ import annotations

import numpy as np
import pytest

import ember


@ember.remote(num_returns="dynamic")
def split(array, chunk_size):
    while len(array) > 0:
        yield array[:chunk_size]
        array = array[chunk_size:]


@ember.remote
def total(ref_generator):
    return sum(len(ember.get(ref)) for ref in ref_generator)


@ember.remote
def two_then_error():
    yield from range(2)
    raise ValueError("error after two")


def test_dynamic_generator_values_and_passing_it_on(cluster):
    array_ref = ember.put(np.zeros(5500))
    dynamic_ref = split.remote(array_ref, 1000)
    generator = ember.get(dynamic_ref)
    assert isinstance(generator, ember.DynamicObjectRefGenerator) and len(generator) == 6
    assert [len(ember.get(ref)) for ref in generator] == [1000] * 5 + [500]
    assert ember.get(total.remote(dynamic_ref)) == 5500  # resolved to the generator
    assert ember.get(total.remote(generator)) == 5500


def test_generator_errors_fill_the_returns_it_did_not_reach(cluster):
    ref1, ref2, ref3, ref4 = two_then_error.options(num_returns=4).remote()
    assert ember.get([ref1, ref2]) == [0, 1]
    for ref in (ref3, ref4):
        with pytest.raises(ValueError, match="error after two"):
            ember.get(ref)
    # A generator that yields more than num_returns is not read on (Ray logs, no error).
    assert ember.get(list(two_then_error.options(num_returns=2).remote())) == [0, 1]
    # With "dynamic", the last ref holds the error.
    first, second, last = ember.get(two_then_error.options(num_returns="dynamic").remote())
    assert ember.get([first, second]) == [0, 1]
    with pytest.raises(ValueError, match="error after two"):
        ember.get(last)


def test_dynamic_actor_method(cluster):
    @ember.remote
    class Counter:
        @ember.method(num_returns="dynamic")
        def upto(self, n):
            yield from range(n)

    c = Counter.remote()
    assert [ember.get(r) for r in ember.get(c.upto.remote(3))] == [0, 1, 2]
    ember.kill(c)


@ember.remote
class Gate:
    def __init__(self):
        import threading

        self.opened = threading.Event()

    def open(self):
        self.opened.set()

    def wait_open(self):
        self.opened.wait()


@ember.remote
def after_gate(gate, n):
    ember.get(gate.wait_open.remote())
    yield from range(n)


def test_wait_on_streaming_generators(cluster):
    gate = Gate.options(max_concurrency=4).remote()
    gen = after_gate.remote(gate, 2)
    ready, unready = ember.wait([gen], timeout=0)  # it cannot have yielded yet
    assert ready == [] and unready == [gen]
    plain = ember.put(1)
    ready, unready = ember.wait([gen, plain], num_returns=1)
    assert ready == [plain] and unready == [gen]
    ember.get(gate.open.remote())
    ready, unready = ember.wait([gen])
    assert ready == [gen] and unready == []
    assert [ember.get(ref) for ref in gen] == [0, 1]
    assert ember.wait([gen], timeout=10)[0] == [gen]  # an ended generator is ready
    ember.kill(gate)
