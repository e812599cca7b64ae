"""Start-up, shutdown and a killed driver: nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from procs import ember_processes, is_running

import ember


def _dev_shm() -> set[str]:
    try:
        return set(os.listdir("/dev/shm"))
    except OSError:
        return set()


def _wait_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.time() + timeout
    alive = pids
    while time.time() < deadline:
        alive = [p for p in pids if is_running(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def test_shutdown_leaves_no_process_or_shared_memory(shutdown_after):
    shm_before = _dev_shm()
    ember.init(num_cpus=2)

    @ember.remote
    def pid():
        return os.getpid()

    @ember.remote
    class A:
        def pid(self):
            return os.getpid()

    pids = ember.get([pid.remote() for _ in range(4)]) + [ember.get(A.remote().pid.remote())]
    template = ember_processes()
    assert template
    ember.shutdown()
    assert not ember.is_initialized()
    assert _wait_gone(pids + template) == []
    assert _dev_shm() == shm_before


def test_sigkilled_driver_leaves_nothing_behind(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        import numpy as np
        import ember
        ember.init(num_cpus=2)

        @ember.remote
        def pid():
            return os.getpid()

        @ember.remote
        class A:
            def pid(self):
                return os.getpid()

        ref = ember.put(np.ones(10_000_000))
        pids = ember.get([pid.remote() for _ in range(4)])
        a = A.remote()
        pids.append(ember.get(a.pid.remote()))
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(60)
    """))
    shm_before = _dev_shm()
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    pids = [int(p) for p in line.split()]
    assert pids, "the driver did not start"
    new = ember_processes(proc.pid)
    assert set(pids) <= set(new)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_gone(pids + new) == []
    assert _dev_shm() == shm_before


def test_init_twice_raises_unless_ignored(shutdown_after):
    ember.init(num_cpus=1)
    with pytest.raises(RuntimeError, match="twice"):
        ember.init()
    info = ember.init(ignore_reinit_error=True)
    assert info["resources"]["CPU"] == 1


def test_first_remote_call_starts_a_cluster(shutdown_after):
    @ember.remote
    def one():
        return 1

    assert not ember.is_initialized()
    assert ember.get(one.remote()) == 1
    assert ember.is_initialized()


def test_init_rejects_bad_arguments(shutdown_after):
    with pytest.raises(TypeError, match="unexpected"):
        ember.init(num_cpu=2)
    with pytest.raises(ConnectionError):
        ember.init(address="10.0.0.1:6379")
    assert not ember.is_initialized()


def test_custom_resources_and_cluster_info(shutdown_after):
    ember.init(num_cpus=3, resources={"accel": 2})
    total = ember.cluster_resources()
    assert total["CPU"] == 3 and total["accel"] == 2
    nodes = ember.nodes()
    assert len(nodes) == 1 and nodes[0]["Alive"]

    @ember.remote(resources={"accel": 1.5})
    def use():
        return ember.get_runtime_context().get_assigned_resources()

    assert ember.get(use.remote()) == {"CPU": 1.0, "accel": 1.5}
    assert ember.available_resources()["accel"] == 2


def test_worker_output_is_streamed_with_pid_prefix(shutdown_after, capfd):
    ember.init(num_cpus=1)

    @ember.remote
    def speak():
        print("hello from a worker")
        return os.getpid()

    pid = ember.get(speak.remote())
    deadline = time.time() + 5
    out = ""
    while time.time() < deadline:
        out += capfd.readouterr().out
        if "hello from a worker" in out:
            break
        time.sleep(0.05)
    assert f"(pid={pid}) hello from a worker" in out


def test_spawned_template_when_fork_is_unsafe(tmp_path):
    """With threads or device libraries loaded, the template starts as a new interpreter."""
    script = tmp_path / "spawned.py"
    script.write_text(textwrap.dedent("""
        import os, threading
        import ember
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()  # a second thread
        ember.init(num_cpus=1)

        @ember.remote
        def ppid():
            return os.getppid()

        manager = ember._core.caller.context.session.manager
        assert manager.template.main.proc is not None, "expected a spawned template"
        assert ember.get(ppid.remote()) == manager.template.pid
        ember.shutdown()
        print("ok")
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_gpu_ids_are_assigned_per_task(shutdown_after):
    ember.init(num_cpus=2, num_gpus=2)

    @ember.remote(num_gpus=1)
    def one_gpu():
        time.sleep(0.3)
        return ember.get_gpu_ids()

    @ember.remote(num_gpus=0.5)
    def half_gpu():
        return ember.get_gpu_ids()

    first, second = ember.get([one_gpu.remote(), one_gpu.remote()])
    assert sorted(first + second) == [0, 1]
    assert ember.get(half_gpu.remote()) in ([0], [1])


def test_work_without_gpus_can_be_shown_none(shutdown_after, monkeypatch):
    monkeypatch.setenv("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "1")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    ember.init(num_cpus=1, num_gpus=1)

    @ember.remote
    def visible():
        return os.environ.get("CUDA_VISIBLE_DEVICES")

    @ember.remote(num_gpus=1)
    class OnGpu:
        def visible(self):
            return os.environ.get("CUDA_VISIBLE_DEVICES")

    @ember.remote(num_gpus=0)
    class NoGpu:
        def visible(self):
            return os.environ.get("CUDA_VISIBLE_DEVICES")

    assert ember.get(visible.remote()) == ""  # Ray's override on zero: no GPU visible
    assert ember.get(OnGpu.remote().visible.remote()) == "0"
    assert ember.get(NoGpu.remote().visible.remote()) == ""


def test_get_blocked_in_another_thread_returns_at_shutdown(shutdown_after):
    import threading

    ember.init(num_cpus=1)

    @ember.remote
    def forever():
        time.sleep(60)

    ref = forever.remote()
    errors = []

    def waiter():
        try:
            ember.get(ref)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    ember.shutdown()
    t.join(10)
    assert not t.is_alive() and errors and "shut down" in str(errors[0])


@ember.remote
def _square(x):
    return x * x


def test_a_remote_function_works_across_sessions(shutdown_after):
    """A function defined once is sent again to each new session's node manager (the
    record of where it was sent must not mistake a new session for an old one)."""
    import gc

    for i in range(6):
        ember.init(num_cpus=1)
        assert ember.get(_square.remote(i), timeout=30) == i * i
        ember.shutdown()
        gc.collect()


def test_an_actor_exiting_from_a_pool_thread_runs_its_atexit_handlers(shutdown_after,
                                                                      tmp_path):
    # A second session: the driver's own exit handler (shutdown) is inherited by the
    # workers, which are forked while init() holds its lock. An actor leaving from a
    # thread of its pool (concurrency groups) runs that handler too: it must return.
    ember.init(num_cpus=1)
    ember.shutdown()
    ember.init(num_cpus=1)

    @ember.remote(concurrency_groups={"io": 1})
    class Leaves:
        def __init__(self, path):
            import atexit

            atexit.register(lambda: open(path, "w").write("bye"))

        def ready(self):
            return True

    marker = tmp_path / "atexit"
    a = Leaves.remote(str(marker))
    assert ember.get(a.ready.remote())
    ready, _ = ember.wait([a.__ray_terminate__.remote()], timeout=30)
    assert ready, "the actor never finished leaving"
    assert marker.read_text() == "bye"
