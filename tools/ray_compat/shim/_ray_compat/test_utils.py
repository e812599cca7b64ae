"""Stands for `ray._common.test_utils` / `ray._private.test_utils`: the helpers Ray's
tests use, written against the public API only."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
import time
from typing import Any

import ember as ray
from _ray_compat.internal import module_getattr


@ray.remote(num_cpus=0)
class SignalActor:
    """An asyncio event as an actor: wait() blocks until send()."""

    def __init__(self) -> None:
        self.ready_event = asyncio.Event()
        self.num_waiters = 0

    def send(self, clear: bool = False) -> None:
        self.ready_event.set()
        if clear:
            self.ready_event.clear()

    async def wait(self, should_wait: bool = True) -> None:
        if should_wait:
            self.num_waiters += 1
            await self.ready_event.wait()
            self.num_waiters -= 1

    async def cur_num_waiters(self) -> int:
        return self.num_waiters


@ray.remote(num_cpus=0)
class Semaphore:
    def __init__(self, value: int = 1) -> None:
        self._sema = asyncio.Semaphore(value=value)

    async def acquire(self) -> None:
        await self._sema.acquire()

    async def release(self) -> None:
        self._sema.release()

    async def locked(self) -> bool:
        return self._sema.locked()


def wait_for_condition(condition_predictor: Any, timeout: float = 10,
                       retry_interval_ms: float = 100, raise_exceptions: bool = False,
                       **kwargs: Any) -> None:
    start = time.time()
    last_ex = None
    while time.time() - start <= timeout:
        try:
            if condition_predictor(**kwargs):
                return
        except Exception as e:  # noqa: BLE001
            if raise_exceptions:
                raise
            last_ex = e
        time.sleep(retry_interval_ms / 1000.0)
    message = "The condition wasn't met before the timeout expired."
    if last_ex is not None:
        message += f" Last exception: {last_ex!r}"
    raise RuntimeError(message)


async def async_wait_for_condition(condition_predictor: Any, timeout: float = 10,
                                   retry_interval_ms: float = 100, **kwargs: Any) -> None:
    start = time.time()
    last_ex = None
    while time.time() - start <= timeout:
        try:
            result = condition_predictor(**kwargs)
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
        except Exception as e:  # noqa: BLE001
            last_ex = e
        await asyncio.sleep(retry_interval_ms / 1000.0)
    raise RuntimeError(f"The condition wasn't met before the timeout expired. {last_ex!r}")


def run_string_as_driver(driver_script: str, env: dict | None = None,
                         encode: str = "utf-8") -> str:
    proc = subprocess.run([sys.executable, "-"], input=driver_script.encode(encode),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env or dict(os.environ), timeout=300)
    out = proc.stdout.decode(encode)
    if proc.returncode:
        sys.stderr.write(f"driver output:\n{out}\n")  # shown with the failing test
        raise subprocess.CalledProcessError(proc.returncode, "driver", out)
    return out


def run_string_as_driver_nonblocking(driver_script: str, env: dict | None = None) -> Any:
    proc = subprocess.Popen([sys.executable, "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env or dict(os.environ))
    proc.stdin.write(driver_script.encode())
    proc.stdin.close()
    return proc


def client_test_enabled() -> bool:
    return False


def create_remote_signal_actor(ray_module: Any = None) -> Any:
    return SignalActor


def placement_group_assert_no_leak(pgs_created: list) -> None:
    for pg in pgs_created:
        ray.util.remove_placement_group(pg)

    def wait_for_resource_recovered() -> bool:
        for resource, val in ray.available_resources().items():
            if resource in ray.cluster_resources() and val != ray.cluster_resources()[resource]:
                return False
        return True

    wait_for_condition(wait_for_resource_recovered)


def convert_actor_state(state: Any) -> Any:
    return state


def get_error_message(*args: Any, **kwargs: Any) -> list:
    return []


def kill_actor_and_wait_for_failure(actor: Any, timeout: float = 10,
                                    retry_interval_ms: float = 100) -> None:
    ray.kill(actor)
    start = time.time()
    while time.time() - start <= timeout:
        try:
            ray.get(actor.__ray_ready__.remote() if hasattr(actor, "__ray_ready__")
                    else actor.__ray_terminate__.remote(), timeout=1)
        except ray.exceptions.RayActorError:
            return
        except Exception:  # noqa: BLE001
            pass
        time.sleep(retry_interval_ms / 1000.0)
    raise RuntimeError("The actor did not die in time.")


def generate_system_config_map(**kwargs: Any) -> dict:
    return {"_system_config": kwargs}


def get_other_nodes(cluster: Any, exclude_head: bool = False) -> list:
    """Every node of the cluster except the head (the driver's node here)."""
    return list(cluster.worker_nodes)


def get_non_head_nodes(cluster: Any) -> list:
    return list(cluster.worker_nodes)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_pid_to_exit(pid: int, timeout: float = 20) -> None:
    start = time.time()
    while time.time() - start < timeout:
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    raise TimeoutError(f"Timed out while waiting for process {pid} to exit.")


def is_placement_group_removed(pg: Any) -> bool:
    table = ray.util.placement_group_table(pg)
    return table.get("state") == "REMOVED"


def reset_autoscaler_v2_enabled_cache() -> None:
    """ember has one autoscaler path: nothing is cached."""


__getattr__ = module_getattr("ray._private.test_utils")
