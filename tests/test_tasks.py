"""Remote functions: results, arguments, nested tasks, returns, errors, retries, cancel."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import ember
from ember.exceptions import (
    GetTimeoutError,
    RayTaskError,
    TaskCancelledError,
    WorkerCrashedError,
)

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
def double(x):
    return x * 2


def test_many_tasks_return_in_order():
    assert ember.get([double.remote(i) for i in range(200)]) == [i * 2 for i in range(200)]


def test_tasks_run_in_other_processes():
    @ember.remote
    def pid():
        return os.getpid()

    assert ember.get(pid.remote()) != os.getpid()


def test_kwargs_and_defaults():
    @ember.remote
    def f(a, b=2, *, c=3):
        return (a, b, c)

    assert ember.get(f.remote(1, c=5)) == (1, 2, 5)


def test_top_level_ref_args_are_resolved_and_nested_refs_are_passed_through():
    @ember.remote
    def kinds(x, lst, d):
        return type(x).__name__, type(lst[0]).__name__, type(d["k"]).__name__, ember.get(lst[0])

    r = ember.put(41)
    assert ember.get(kinds.remote(r, [r], {"k": r})) == ("int", "ObjectRef", "ObjectRef", 41)


def test_chained_tasks_pass_refs():
    ref = double.remote(1)
    for _ in range(5):
        ref = double.remote(ref)
    assert ember.get(ref) == 64


def test_nested_tasks_do_not_deadlock_with_all_cpus_busy():
    @ember.remote
    def parent(n):
        return sum(ember.get([double.remote(i) for i in range(n)]))

    # Four parents on two CPUs, each blocking on children: blocked workers lend their CPU.
    assert ember.get([parent.remote(5) for _ in range(4)]) == [20] * 4


def test_num_returns():
    @ember.remote(num_returns=3)
    def three():
        return 1, 2, 3

    a, b, c = three.remote()
    assert ember.get([a, b, c]) == [1, 2, 3]

    @ember.remote(num_returns=0)
    def nothing():
        return None

    assert nothing.remote() is None


def test_wrong_number_of_returns_is_an_error():
    @ember.remote(num_returns=2)
    def one():
        return 1

    refs = one.remote()
    with pytest.raises(ValueError, match="num_returns=2"):
        ember.get(refs[0])


def test_options_override():
    assert ember.get(double.options(num_cpus=0.5, name="half").remote(4)) == 8


def test_error_is_reraised_as_both_task_error_and_user_class():
    class MyError(Exception):
        pass

    @ember.remote
    def fail():
        raise MyError("broken on purpose")

    with pytest.raises(MyError) as info:
        ember.get(fail.remote())
    err = info.value
    assert isinstance(err, RayTaskError)
    assert "broken on purpose" in str(err)
    assert "fail" in err.traceback_str and "MyError" in err.traceback_str


def test_error_propagates_through_dependent_tasks():
    @ember.remote
    def fail():
        raise KeyError("k")

    with pytest.raises(KeyError):
        ember.get(double.remote(fail.remote()))


def test_worker_killed_mid_task_is_retried(tmp_path):
    marker = tmp_path / "died"

    @ember.remote(max_retries=2)
    def die_once(path):
        if not os.path.exists(path):
            open(path, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return "survived"

    assert ember.get(die_once.remote(str(marker))) == "survived"


def test_worker_crash_without_retries_raises_worker_crashed():
    @ember.remote(max_retries=0)
    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(WorkerCrashedError, match="died"):
        ember.get(die.remote())
    assert ember.get(double.remote(2)) == 4  # the cluster keeps running


def test_retry_exceptions(tmp_path):
    counter = tmp_path / "count"

    @ember.remote(max_retries=3, retry_exceptions=[OSError])
    def flaky(path):
        n = int(open(path).read()) if os.path.exists(path) else 0
        with open(path, "w") as f:
            f.write(str(n + 1))
        if n < 2:
            raise OSError("transient")
        return n

    assert ember.get(flaky.remote(str(counter))) == 2

    @ember.remote(max_retries=3)
    def not_retried(path):
        n = int(open(path).read()) if os.path.exists(path) else 0
        with open(path, "w") as f:
            f.write(str(n + 1))
        raise ValueError("app error")

    other = tmp_path / "other"
    with pytest.raises(ValueError):
        ember.get(not_retried.remote(str(other)))
    assert other.read_text() == "1"


def test_get_timeout():
    @ember.remote
    def slow():
        time.sleep(5)

    ref = slow.remote()
    with pytest.raises(GetTimeoutError):
        ember.get(ref, timeout=0.1)
    ember.cancel(ref, force=True)


def test_cancel_running_task():
    @ember.remote
    def spin():
        while True:
            time.sleep(0.01)

    ref = spin.remote()
    ember.wait([ref], timeout=0.3)
    ember.cancel(ref)
    with pytest.raises(TaskCancelledError):
        ember.get(ref)


def test_force_cancel_kills_the_worker():
    @ember.remote
    def stuck():
        time.sleep(60)

    ref = stuck.remote()
    ember.wait([ref], timeout=0.3)
    ember.cancel(ref, force=True)
    with pytest.raises(TaskCancelledError):
        ember.get(ref)


def test_cancel_queued_task():
    @ember.remote(num_cpus=2)
    def hog():
        time.sleep(1)

    first = hog.remote()
    queued = hog.remote()
    ember.cancel(queued)
    with pytest.raises(TaskCancelledError):
        ember.get(queued)
    ember.get(first)


def test_streaming_generator():
    @ember.remote
    def gen(n):
        for i in range(n):
            yield i * i

    g = gen.remote(5)
    assert isinstance(g, ember.ObjectRefGenerator)
    assert [ember.get(r) for r in g] == [0, 1, 4, 9, 16]


def test_streaming_generator_error_raised_at_its_item():
    @ember.remote(num_returns="streaming")
    def gen():
        yield 1
        raise RuntimeError("mid-stream")

    it = iter(gen.remote())
    assert ember.get(next(it)) == 1
    with pytest.raises(RuntimeError, match="mid-stream"):
        ember.get(next(it))


def test_generator_with_fixed_num_returns():
    @ember.remote(num_returns=3)
    def gen():
        yield from ("a", "b", "c")

    assert ember.get(gen.remote()) == ["a", "b", "c"]


def test_large_numpy_argument_and_result():
    @ember.remote
    def scale(a):
        return a * 2

    arr = np.arange(1_000_000, dtype=np.float64)
    out = ember.get(scale.remote(arr))
    assert out.shape == arr.shape and out[-1] == 2 * arr[-1]


def test_runtime_context_inside_task():
    @ember.remote(num_cpus=0.5)
    def ctx():
        c = ember.get_runtime_context()
        return c.get_task_id(), c.get_assigned_resources(), c.get_node_id()

    task_id, res, node = ember.get(ctx.remote())
    assert task_id and res == {"CPU": 0.5}
    assert node == ember.get_runtime_context().get_node_id()


def test_direct_call_is_refused():
    with pytest.raises(TypeError, match=r"double.remote\(\)"):
        double(1)


def test_memory_errors_keep_their_class():
    @ember.remote
    def oom():
        raise MemoryError("too big")

    with pytest.raises(MemoryError, match="too big"):
        ember.get(oom.remote())


def test_libraries_are_reachable_as_attributes():
    assert ember.tune.Tuner is not None  # `import ember as ray; ray.tune.Tuner` ports
    assert "object_store_memory" in ember.cluster_resources()


def test_cancel_a_streaming_generator():
    @ember.remote
    def endless():
        i = 0
        while True:
            yield i
            i += 1
            time.sleep(0.01)

    gen = endless.remote()
    assert ember.get(next(gen)) == 0
    ember.cancel(gen)
    with pytest.raises(TaskCancelledError):
        for ref in gen:
            ember.get(ref)


def test_nested_tasks_do_not_deadlock_behind_their_callers_siblings(shutdown_after):
    """Ray's fair-queueing case: 1,000 chains f -> g -> h on one CPU finish; nested work
    runs before more top-level work, so few workers are needed."""
    ember.init(num_cpus=1)

    @ember.remote
    def h():
        return 0

    @ember.remote
    def g():
        return ember.get(h.remote())

    @ember.remote
    def f():
        return ember.get(g.remote())

    refs = [f.remote() for _ in range(1000)]
    ready, _ = ember.wait(refs, num_returns=1000, timeout=120)
    assert len(ready) == 1000
    from ember.util.state import list_workers

    assert len(list_workers()) <= 8
