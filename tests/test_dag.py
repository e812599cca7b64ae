"""Task DAGs (ember.dag, Ray's ray.dag): .bind() on functions, actor classes and methods,
InputNode, MultiOutputNode and execute()."""

from __future__ import annotations

import pytest

import ember
from ember.dag import InputNode, MultiOutputNode

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
def add(a, b):
    return a + b


@ember.remote
def double(x):
    return 2 * x


@ember.remote
class Counter:
    def __init__(self, start):
        self.n = start

    def inc(self, k):
        self.n += k
        return self.n


def test_function_graph_with_inputs():
    with InputNode() as inp:
        dag = add.bind(double.bind(inp[0]), inp[1])
    assert ember.get(dag.execute(3, 4)) == 10
    assert ember.get(dag.execute(1, 1)) == 3
    with InputNode() as inp:
        single = double.bind(inp)
        by_key = add.bind(inp.x, inp["y"])
    assert ember.get(single.execute(21)) == 42
    assert ember.get(by_key.execute(x=1, y=2)) == 3


def test_a_shared_node_runs_once_per_execute():
    @ember.remote
    class Tally:
        def __init__(self):
            self.calls = 0

        def hit(self, x):
            self.calls += 1
            return x

        def count(self):
            return self.calls

    t = Tally.remote()
    with InputNode() as inp:
        shared = t.hit.bind(inp)
        dag = MultiOutputNode([double.bind(shared), add.bind(shared, shared)])
    assert ember.get(dag.execute(5)) == [10, 10]
    assert ember.get(t.count.remote()) == 1


def test_actor_nodes_and_options():
    with InputNode() as inp:
        counter = Counter.bind(10)
        first = counter.inc.bind(inp)
        second = counter.inc.bind(first)
    assert ember.get(second.execute(1)) == 22  # 10+1=11, then 11+11=22
    with InputNode() as inp:
        dag = double.options(num_cpus=0).bind([inp, inp])
    with pytest.raises(TypeError):  # the task's own error, as with .remote()
        ember.get(add.bind(1, "x").execute())
    assert ember.get(dag.execute(2)) == [2, 2, 2, 2]


def test_methods_of_existing_handles_bind():
    c = Counter.remote(0)
    with InputNode() as inp:
        dag = c.inc.bind(inp)
    assert [ember.get(dag.execute(i)) for i in (1, 2, 3)] == [1, 3, 6]
    node = c.inc.options(num_returns=1).bind(5)
    assert ember.get(node.execute()) == 11


def test_calls_bound_on_one_class_node_run_in_bind_order(cluster):
    """Ray's actor DAG example: binds on an actor node run before a later bind's call."""

    @ember.remote
    class Acc:
        def __init__(self, init_value):
            self.i = init_value

        def inc(self, x):
            self.i += x

        def get(self):
            return self.i

    @ember.remote
    def combine(x, y):
        return x + y

    a1 = Acc.bind(10)
    assert ember.get(a1.get.bind().execute()) == 10
    a2 = Acc.bind(10)
    a1.inc.bind(2)
    a1.inc.bind(4)
    a2.inc.bind(6)
    assert ember.get(combine.bind(a1.get.bind(), a2.get.bind()).execute()) == 32
