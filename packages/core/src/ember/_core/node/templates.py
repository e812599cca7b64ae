"""Template processes: each forks workers on request; one per interpreter.

The node's main template runs the driver's interpreter (forked from the driver when that
is safe, else spawned). A runtime_env with `pip`/`uv` packages gets a template of its own,
spawned from its venv's python on its first worker, so its workers never carry a module
version the main template imported. Every template sends new workers' fds over the same
datagram socket (SCM_RIGHTS), which the node manager's IO loop reads.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from ember._core.common import framing, messages

__all__ = ["TemplateProcess"]

# Modules that start threads or hold device state a fork must not copy.
_FORK_UNSAFE = ("torch", "tensorflow", "jax", "grpc", "cupy")


class TemplateProcess:
    """One template process and the control connection to it."""

    def __init__(self, fd_out: socket.socket, store_fd: int, store_size: int,
                 python: str | None = None, idle_imports: tuple[str, ...] | None = None
                 ) -> None:
        ctl_a, ctl_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = (ctl_b.fileno(), fd_out.fileno(), store_fd)
        self.proc: subprocess.Popen | None = None
        self.pid = 0
        if python is None and _safe_to_fork():
            from ember._core.worker import template

            self.pid = template.fork_from(
                fds, *fds, store_size,
                template.IDLE_IMPORTS if idle_imports is None else idle_imports)
        else:
            # A venv's interpreter needs site on (its packages come from site-packages).
            flags = _site_flags() if python is None else ["-s"] * bool(
                sys.flags.no_user_site)
            self.proc = subprocess.Popen(
                [python or sys.executable, *flags, "-m", "ember._core.worker.template",
                 *map(str, fds), str(store_size)],
                pass_fds=fds, close_fds=True)
            self.pid = self.proc.pid
        ctl_b.close()
        self.conn = framing.Connection(ctl_a)

    def fork(self, wid: int, setup: dict) -> None:
        self.conn.send(messages.Fork(wid, setup))

    def stop(self) -> None:
        try:
            self.conn.send(messages.Exit())
        except OSError:
            pass
        self.conn.close()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            return
        _wait_pid(self.pid, timeout=2)


def _wait_pid(pid: int, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _site_flags() -> list[str]:
    """The driver's -S / -s, which its workers keep (as in Ray)."""
    return ["-S"] * bool(sys.flags.no_site) + ["-s"] * bool(sys.flags.no_user_site)


def _safe_to_fork() -> bool:
    """Fork the template from this process when nothing makes a fork risky."""
    import threading

    if os.environ.get("EMBER_TEMPLATE_SPAWN"):
        return False
    if threading.active_count() != 1:
        return False
    return not any(m in sys.modules for m in _FORK_UNSAFE)
