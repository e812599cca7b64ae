"""The worker pool: the template processes, worker handles, idle workers per environment."""

from __future__ import annotations

import os
import signal
import socket
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from ember._core.common import framing, messages
from ember._core.node.templates import TemplateProcess

if TYPE_CHECKING:
    from ember._core.node.records import Actor, Task

IDLE = "idle"
BUSY = "busy"
ACTOR = "actor"
DEAD = "dead"


class WorkerHandle:
    """The node manager's view of one worker process."""

    __slots__ = ("wid", "pid", "conn", "env_key", "state", "task", "actor", "fns",
                 "pins", "held", "blocked", "holds_resources", "on_backlog", "creating",
                 "calls", "reader", "gpu")

    def __init__(self, wid: int, pid: int, conn: framing.Connection, env_key: str) -> None:
        self.wid = wid
        self.pid = pid
        self.conn = conn
        self.env_key = env_key
        self.state = IDLE
        self.task: Task | None = None  # the Task it runs (plain workers)
        self.actor: Actor | None = None  # the Actor it hosts
        self.fns: set[bytes] = set()  # function ids already sent to it
        self.pins: Counter[bytes] = Counter()  # store objects it has mapped
        self.held: set[bytes] = set()  # ids it holds refs to
        self.blocked = 0  # nested get/wait calls in progress
        self.holds_resources = False
        self.on_backlog: Any = None  # called when a send could not be written at once
        self.creating: set[bytes] = set()  # store objects it created, not yet sealed
        self.calls: Counter[bytes] = Counter()  # runs per function with max_calls
        self.reader = False  # a driver thread reads its socket instead of the IO loop
        # Whether it ran GPU work (None: nothing yet). As in Ray, a worker serves either
        # GPU work or other work, never both.
        self.gpu: bool | None = None

    def send(self, msg: object) -> bool:
        """Send without ever blocking the node manager; the IO loop writes the rest."""
        try:
            if not self.conn.send_nowait(msg) and self.on_backlog is not None:
                self.on_backlog(self)
            return True
        except OSError:
            return False

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Template:
    """The node's worker templates: the main one (the driver's interpreter) and, started
    on first use, one per pip/uv environment (its venv's interpreter, `setup["python"]`).
    New workers' fds come back over one datagram socket (SCM_RIGHTS), read by the node
    manager's IO loop; `conn` is the main template's control connection."""

    def __init__(self, store_fd: int, store_size: int,
                 idle_imports: tuple[str, ...] | None = None) -> None:
        self._store = (store_fd, store_size)
        fd_a, self._fd_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.main = TemplateProcess(self._fd_b, store_fd, store_size,
                                    idle_imports=idle_imports)
        self.pid = self.main.pid
        self.conn = self.main.conn
        self.fd_sock = fd_a
        self.by_python: dict[str, TemplateProcess] = {}
        # env_key -> forks asked for queued tasks, not yet connected (actor forks are not
        # counted: they are spoken for). Summed over all templates.
        self.pending: Counter[str] = Counter()
        self.env_of: dict[int, tuple[str, bool]] = {}
        self._preload: list[str] = []

    @property
    def preloaded(self) -> list[str]:
        """The modules every template was asked to import (preload)."""
        return list(self._preload)

    def preload(self, modules: list[str]) -> None:
        """Have every template, the ones started later too, import these modules."""
        self._preload = list(modules)
        for t in [self.main, *self.by_python.values()]:
            t.conn.send(messages.Preload(self._preload))

    def fork(self, wid: int, env_key: str, setup: dict, for_task: bool) -> None:
        python = setup.get("python")
        t = self.main
        if python:
            t = self.by_python.get(python)
            if t is None or (t.proc is not None and t.proc.poll() is not None):
                if t is not None:  # it died (its workers with it): start another
                    t.conn.close()
                t = self.by_python[python] = TemplateProcess(self._fd_b, *self._store,
                                                             python=python)
                if self._preload:
                    t.conn.send(messages.Preload(self._preload))
        if for_task:
            self.pending[env_key] += 1
        self.env_of[wid] = (env_key, for_task)
        t.fork(wid, setup)

    def receive_worker(self) -> tuple[int, int, socket.socket, str]:
        msg, fds, _flags, _addr = socket.recv_fds(self.fd_sock, 16, 1)
        wid = int.from_bytes(msg[:8], "little")
        pid = int.from_bytes(msg[8:16], "little")
        env_key, for_task = self.env_of.pop(wid, ("", False))
        if for_task:
            self.pending[env_key] -= 1
        return wid, pid, socket.socket(fileno=fds[0]), env_key

    def stop(self) -> None:
        for t in [self.main, *self.by_python.values()]:
            t.stop()
        self.fd_sock.close()
        self._fd_b.close()


class IdleWorkers:
    """Idle plain workers per runtime-environment key, most recently used first."""

    def __init__(self) -> None:
        self._by_env: dict[str, deque[WorkerHandle]] = {}

    def push(self, w: WorkerHandle) -> None:
        self._by_env.setdefault(w.env_key, deque()).append(w)

    def pop(self, env_key: str, gpu: bool = False) -> WorkerHandle | None:
        """The most recently used idle worker for `env_key` that may run GPU (or non-GPU)
        work; it is marked as such."""
        q = self._by_env.get(env_key)
        while q and q[-1].state != IDLE:
            q.pop()
        if not q:
            return None
        for i in range(len(q) - 1, -1, -1):
            w = q[i]
            if w.state == IDLE and w.gpu in (None, gpu):
                del q[i]
                w.gpu = gpu
                return w
        return None

    def discard(self, w: WorkerHandle) -> None:
        q = self._by_env.get(w.env_key)
        if q and w in q:
            q.remove(w)

    def count(self, env_key: str) -> int:
        q = self._by_env.get(env_key)
        return len(q) if q else 0
