"""Per-task worker settings as in Ray: max_calls replaces a worker after N runs of a
function (and frees its resources), and OMP_NUM_THREADS follows the task's CPUs unless
the environment sets it."""

from __future__ import annotations

import os

import pytest

import ember


def test_max_calls_replaces_the_worker_and_releases_resources(shutdown_after):
    ember.init(num_cpus=2, num_gpus=1)

    @ember.remote(num_cpus=0)
    def inner():
        return 0

    @ember.remote(num_cpus=1, num_gpus=1, max_calls=1, max_retries=0)
    def once():
        return ember.get(inner.remote()), os.getpid()

    pids = {ember.get(once.remote(), timeout=60)[1] for _ in range(6)}
    assert len(pids) == 6  # would hang if the GPU were not released

    @ember.remote(max_calls=3)
    def thrice():
        return os.getpid()

    pids = ember.get([thrice.remote() for _ in range(12)], timeout=60)
    assert max(pids.count(p) for p in set(pids)) <= 3


@pytest.mark.parametrize("value, error", [(1.5, TypeError), (-1, ValueError)])
def test_max_calls_is_validated(value, error):
    with pytest.raises(error, match="max_calls"):
        ember.remote(max_calls=value)(lambda: 1)


def test_omp_num_threads_follows_cpus(shutdown_after, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    ember.init(num_cpus=2)

    @ember.remote
    def omp():
        return os.environ.get("OMP_NUM_THREADS")

    @ember.remote
    class Actor:
        def omp(self):
            return os.environ.get("OMP_NUM_THREADS")

    assert ember.get(omp.options(num_cpus=2).remote()) == "2"
    assert ember.get(omp.remote()) == "1"
    assert ember.get(omp.options(num_cpus=0.25).remote()) == "1"
    assert ember.get(omp.options(runtime_env={"env_vars": {"OMP_NUM_THREADS": "5"}})
                     .remote()) == "5"
    assert ember.get(Actor.remote().omp.remote()) == "1"
    assert ember.get(Actor.options(num_cpus=2).remote().omp.remote()) == "2"


def test_process_titles_name_the_running_task(cluster):
    """As Ray, a worker's command line (ps, psutil) reads ray::<task or Class.method>."""
    import psutil

    @ember.remote
    def title():
        return psutil.Process().cmdline()[0]

    @ember.remote
    class Foo:
        def method(self):
            return psutil.Process().cmdline()[0]

    assert ember.get(title.remote()) == f"ray::{title._function.__qualname__}"
    assert ember.get(title.options(name="renamed").remote()) == "ray::renamed"
    f = Foo.remote()
    assert ember.get(f.method.remote()) == "ray::Foo.method"
    assert ember.get(f.method.options(name="bar").remote()) == "ray::bar"


def test_a_worker_shows_ray_idle_once_it_waits_for_work(cluster):
    """Between tasks a worker reads ray::IDLE (an actor's worker: ray::<Class>); one given
    the same function back to back keeps its title meanwhile, which saves system calls."""
    import time

    import psutil

    @ember.remote
    def pid():
        return os.getpid()

    @ember.remote
    class Holder:
        def pid(self):
            return os.getpid()

    def title_becomes(p: int, want: str) -> str:
        end = time.monotonic() + 10
        while (got := psutil.Process(p).cmdline()[0]) != want and time.monotonic() < end:
            time.sleep(0.01)
        return got

    assert title_becomes(ember.get(pid.remote()), "ray::IDLE") == "ray::IDLE"
    h = Holder.remote()
    assert title_becomes(ember.get(h.pid.remote()), "ray::Holder") == "ray::Holder"


def test_preload_python_modules(shutdown_after):
    """Ray's `preload_python_modules`: workers start with the modules imported; a module
    that does not exist is skipped, not fatal."""
    ember.init(num_cpus=1, _system_config={"preload_python_modules": [
        "webbrowser", "html.parser", "fake_module_expect_ModuleNotFoundError"]})

    @ember.remote
    def loaded():
        import sys

        return "webbrowser" in sys.modules, "html.parser" in sys.modules

    assert ember.get(loaded.remote()) == (True, True)


def test_a_node_with_many_cpus_prestarts_few_workers_and_grows_on_demand(shutdown_after):
    """A node declared with far more CPUs than the machine has cores forks no more warm
    workers than cores at start (it used to fork one per CPU: seconds for hundreds), and
    still runs as many tasks at once as they need."""
    from ember.util import state

    ember.init(num_cpus=500)
    cores = os.cpu_count() or 1
    assert len([w for w in state.list_workers() if w.get("worker_type") == "WORKER"]) <= cores

    @ember.remote(num_cpus=0)
    class Barrier:
        def __init__(self):
            self.arrived = 0

        def arrive(self):
            self.arrived += 1

        def count(self):
            return self.arrived

    @ember.remote
    def meet(barrier, n):
        import time

        ember.get(barrier.arrive.remote())
        deadline = time.monotonic() + 60
        while ember.get(barrier.count.remote()) < n:  # every other task must be running
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return os.getpid()

    n = cores + 4
    barrier = Barrier.remote()
    pids = ember.get([meet.remote(barrier, n) for _ in range(n)], timeout=120)
    assert len(set(pids)) == n  # one worker each, all at once


def test_gpu_work_and_other_work_never_share_a_worker(shutdown_after):
    ember.init(num_cpus=1, num_gpus=1)

    @ember.remote(num_gpus=1)
    def gpu():
        return os.getpid()

    @ember.remote
    def cpu():
        return os.getpid()

    cpu_pid = ember.get(cpu.remote())
    gpu_pid = ember.get(gpu.remote())
    assert cpu_pid != gpu_pid  # as in Ray: a worker that ran CPU work takes no GPU work
    assert ember.get(gpu.remote()) == gpu_pid  # ... but GPU workers are reused for GPU work
    assert ember.get(cpu.remote()) == cpu_pid


def test_a_worker_is_one_thread_and_may_fork(shutdown_after):
    ember.init(num_cpus=1)

    @ember.remote
    def threads_then_fork():
        import math
        import multiprocessing
        import threading

        alone = threading.active_count()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            return alone, sum(pool.map(math.factorial, range(8)))

    # As in Ray (support_fork): no helper thread in the worker, so forking is safe.
    assert ember.get(threads_then_fork.remote()) == (1, 5914)
