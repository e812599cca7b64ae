"""The worker template: a pre-imported, single-threaded process that forks workers.

A new worker costs a fork (milliseconds) instead of an interpreter start and imports.
The template leaves its process group so a Ctrl-C at the driver's terminal does not
reach workers, and exits (taking its workers with it) when the node manager's end of
its socket closes, which is also what happens when the driver is SIGKILLed.
"""

from __future__ import annotations

import gc
import os
import pickle
import selectors
import signal
import socket
import sys

from ember._core.common import framing, messages
from ember._core.common.procutil import (
    return_free_heap,
    set_parent_death_signal,
    set_process_name,
)
from ember._core.worker import inherited, worker_process


def _fork_worker(ctl: socket.socket, fds: socket.socket, wid: int, setup: dict,
                 store_fd: int, store_size: int) -> int:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            ctl.close()
            fds.close()
            a.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            set_process_name("ember-worker")
            set_parent_death_signal()
            code = worker_process.main(b, wid, store_fd, store_size, setup)
        except BaseException:  # noqa: BLE001 - the worker must never return into the template
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    b.close()
    socket.send_fds(fds, [wid.to_bytes(8, "little") + pid.to_bytes(8, "little")], [a.fileno()])
    a.close()
    return pid


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# What a template imports once it is idle, so that later forks get it for free.
IDLE_IMPORTS = ("numpy",)


def main() -> None:
    ctl_fd, fd_fd, store_fd, store_size = (int(x) for x in sys.argv[1:5])
    serve(ctl_fd, fd_fd, store_fd, store_size)


def serve(ctl_fd: int, fd_fd: int, store_fd: int, store_size: int,
          idle_imports: tuple[str, ...] = IDLE_IMPORTS) -> None:
    """The template's loop: fork a worker per request until the manager goes away."""
    os.setpgid(0, 0)
    set_process_name("ember-template")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctl = socket.socket(fileno=ctl_fd)
    fds = socket.socket(fileno=fd_fd)
    conn = framing.Connection(ctl)
    sel = selectors.DefaultSelector()
    sel.register(ctl, selectors.EVENT_READ)
    return_free_heap()  # the first forks come at once: leave them no free pages
    preloaded = False
    while True:
        events = sel.select(timeout=0.5 if preloaded else 0.05)
        if not events:
            _reap()
            if not preloaded:
                preloaded = True
                _preload(idle_imports)
            continue
        try:
            msgs = conn.recv_available()
        except (framing.ConnectionClosed, OSError):
            break
        for msg in msgs:
            if isinstance(msg, messages.Fork):
                try:
                    _fork_worker(ctl, fds, msg.wid, msg.setup, store_fd, store_size)
                except OSError:  # the node manager is gone
                    os.killpg(0, signal.SIGKILL)
            elif isinstance(msg, messages.Preload):
                _import_all(msg.modules)
            elif isinstance(msg, messages.Exit):
                os._exit(0)
        _reap()
    # The node manager is gone: take the workers down with us.
    os.killpg(0, signal.SIGKILL)


def fork_from(keep: tuple[int, ...], ctl_fd: int, fd_fd: int, store_fd: int,
              store_size: int, idle_imports: tuple[str, ...] = IDLE_IMPORTS) -> int:
    """Become the template by forking the calling (single-threaded) process.

    Saves an interpreter start and every import: the child already has ember loaded.
    All file descriptors but `keep` are closed in the child so that it holds no copy of
    the parent's files, pipes or sockets.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        # The driver's files and sockets must not stay open here, but their Python objects
        # (sockets, log handlers) were copied too and may close "their" fd later. Parking
        # each fd on /dev/null keeps the number taken, so such a close can never hit a
        # descriptor the worker opened since.
        keep_set = {0, 1, 2, *keep}
        null = os.open(os.devnull, os.O_RDWR)
        parked = set()
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd not in keep_set and fd != null:
                try:
                    os.dup2(null, fd)
                    parked.add(fd)
                except OSError:
                    pass
        inherited.disarm(parked)
        serve(ctl_fd, fd_fd, store_fd, store_size, idle_imports)
    finally:
        os._exit(0)


def _import_all(modules: list[str]) -> None:
    """Import what the cluster asks every worker to have loaded (Ray's
    `preload_python_modules`): forks then get them for free. A module that fails to
    import is reported on the node's log and skipped."""
    for name in modules:
        try:
            __import__(name)
        except Exception as e:  # noqa: BLE001 - a bad name must not stop the template
            print(f"ember: could not preload {name!r} in workers: {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)


def _preload(modules: tuple[str, ...]) -> None:
    """Import heavy common modules while idle so later forks get them for free; then
    leave the heap compact for the forks: garbage collected, the survivors frozen (the
    collector of a fork never writes to, and so never copies, their pages), free pages
    returned to the system."""
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            pass
    pickle.dumps(None)
    gc.collect()
    gc.freeze()
    return_free_heap()


if __name__ == "__main__":
    main()
