"""A job with entrypoint resources: its driver runs under a supervisor actor holding them.

As in Ray, `entrypoint_num_cpus`, `entrypoint_num_gpus`, `entrypoint_memory` and
`entrypoint_resources` are held by an actor (`JobSupervisor`) for as long as the job's
driver runs, and the driver is started by that actor, where the resources are (a GPU
job's driver sees its GPUs in CUDA_VISIBLE_DEVICES). The job manager starts this module
as a small driver of its own (`python -m ember.dashboard.job_supervisor`) in the job's
process group. It creates the actor through ember's public API; while the cluster cannot
give the resources the actor is not placed and the job stays PENDING. Once placed, the
actor starts the entrypoint under a guard process and this driver copies the entrypoint's
output into the job's log, then exits with its exit code.

Ending a job ends all of its processes, whatever goes first:
- `stop_job` sends SIGTERM to this driver, which asks the actor to stop the entrypoint
  (SIGTERM to its process group, SIGKILL after a grace period);
- if this driver dies (SIGKILL, the head going away), the actor it owns is killed; the
  guard sees its stdin close and ends the entrypoint's process group the same way.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

SPEC_ENV = "EMBER_JOB_SUPERVISOR_SPEC"
STOP_GRACE_S = 2.0  # below the job manager's grace for this driver (3 s)
_READ_WAIT_S = 0.5
_CHUNK = 1 << 16

# The guard: the leader of the entrypoint's process group. It runs the entrypoint, exits
# with its code, and ends the whole group when told to stop (SIGTERM) or when the actor
# that started it is gone (its stdin closes).
_GUARD = """
import os, signal, subprocess, sys, threading, time
grace = float(sys.argv[2])
proc = subprocess.Popen(sys.argv[1], shell=True, stdin=subprocess.DEVNULL)
ending = threading.Lock()
def end(*_):
    if not ending.acquire(blocking=False):
        return
    try:
        os.killpg(0, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, end)
def watch():
    sys.stdin.buffer.read()
    end()
threading.Thread(target=watch, daemon=True).start()
code = proc.wait()
os._exit(128 - code if code < 0 else code)  # not sys.exit: the stdin thread is blocked
"""


class JobSupervisor:
    """The actor that holds a job's entrypoint resources and runs its driver."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self, entrypoint: str, env: dict[str, str], cwd: str | None) -> dict:
        """Start the entrypoint (with this worker's environment plus `env`); where it
        runs: {"node_id", "pid"}."""
        import ember

        self.proc = subprocess.Popen(
            [sys.executable, "-c", _GUARD, entrypoint, str(STOP_GRACE_S)],
            env={**os.environ, **env}, cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        assert self.proc.stdout is not None  # stdout=PIPE
        os.set_blocking(self.proc.stdout.fileno(), False)
        return {"node_id": ember.get_runtime_context().get_node_id(), "pid": self.proc.pid}

    def read(self) -> bytes | None:
        """The entrypoint's next output (b"" if none came within half a second); None
        once it has exited and everything was read."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        poller = select.poll()  # not select(): the fd number may pass 1024
        poller.register(fd, select.POLLIN)
        poller.poll(_READ_WAIT_S * 1000)
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return b""
        return data if data else None

    def wait(self) -> int:
        """The entrypoint's exit code (it has closed its output)."""
        assert self.proc is not None
        return self.proc.wait()

    def stop(self) -> None:
        """SIGTERM to the entrypoint's process group; the guard SIGKILLs what is left
        after the grace period. Returns once the guard is gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=STOP_GRACE_S + 1)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


class _Stop(Exception):
    """SIGTERM arrived: stop the job."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def main() -> int:
    """Run one job's driver under a supervisor actor; exits with the driver's code."""
    spec = json.loads(os.environ.pop(SPEC_ENV))
    status = os.fdopen(int(spec["status_fd"]), "w", buffering=1)
    signal.signal(signal.SIGTERM, _raise_stop)
    import ember

    sup = None
    started = False
    try:
        ember.init(address="auto", log_to_driver=False)
        options: dict[str, Any] = {"num_cpus": spec.get("num_cpus") or 0,
                                   "max_concurrency": 4}
        for key in ("num_gpus", "memory", "resources"):
            if spec.get(key):
                options[key] = spec[key]
        # By reference (this file runs as __main__): workers import the class.
        from ember.dashboard.job_supervisor import JobSupervisor as Supervisor

        sup = ember.remote(Supervisor).options(**options).remote()
        where = ember.get(sup.start.remote(spec["entrypoint"], spec["env"], spec["cwd"]))
        started = True
        status.write(json.dumps(where) + "\n")
        out = sys.stdout.buffer
        while (chunk := ember.get(sup.read.remote())) is not None:
            if chunk:
                out.write(chunk)
                out.flush()
        return int(ember.get(sup.wait.remote()))
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if started and sup is not None:  # else never placed: exiting withdraws it
            deadline = time.monotonic() + STOP_GRACE_S + 0.5
            try:
                ember.get(sup.stop.remote(), timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - the actor going away ends the guard too
                pass
        return 128 + signal.SIGTERM


__all__ = ["SPEC_ENV", "STOP_GRACE_S", "JobSupervisor", "main"]

if __name__ == "__main__":
    sys.exit(main())
