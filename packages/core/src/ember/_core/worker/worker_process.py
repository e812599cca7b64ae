"""A worker process: receives tasks from its node manager and runs them.

Reading the socket follows a leader/follower pattern: whichever thread needs a reply
and finds nobody reading becomes the reader until its reply arrives. A plain worker
therefore runs on one thread (its main thread reads when idle, and reads its own replies
during a nested get); actors with max_concurrency or async methods keep the main thread
as a dedicated reader and run calls on a thread pool or an event loop.
"""

from __future__ import annotations

import io
import itertools
import os
import signal
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ember._core.caller import context
from ember._core.caller.client import BaseClient
from ember._core.common import framing, ids, messages, procutil, refs, serialization, specs
from ember._core.common.constants import INLINE_MAX, SYSTEM_GROUP
from ember._core.common.specs import ActorSpec, TaskSpec
from ember._core.common.spin import Spinner, wait_spin_s

# A worker shows its idle title once no work came for this long after a task: switching
# titles costs system calls, which a worker given task after task skips.
IDLE_TITLE_AFTER_S = 0.001


class WorkerClient(BaseClient):
    def __init__(self, sock: socket.socket, wid: int, store_fd: int, store_size: int) -> None:
        self.conn = framing.Connection(sock)
        self.spinner = Spinner(wait_spin_s())  # see _recv
        self.wid = wid
        self._store = (store_fd, store_size)
        self._region: Any = None
        self.cond = threading.Condition()
        self.leading = False
        self.lost: BaseException | None = None  # why the node's connection ended (drivers)
        self.replies: dict[int, tuple[bool, Any]] = {}
        self.callbacks: dict[int, Callable[[bool, Any], None]] = {}
        self.rids = itertools.count(1)
        self.work: deque[tuple[str, TaskSpec | ActorSpec]] = deque()
        self.info: dict = {}
        self.unpins: deque[bytes] = deque()
        self.refs = refs.current
        self.send_lock = threading.Lock()
        self.executor: Any = None  # set for threaded/async actors
        self.runner: Any = None
        self._system: Any = None
        self.in_user_code = False
        self.in_runtime = 0
        self.cancel_pending = False
        # Cancellation: the task contexts of running calls by task id (is_canceled), the
        # plain task on the main thread (interrupted once, with KeyboardInterrupt), and
        # calls cancelled before they started (never run).
        self.running: dict[bytes, dict] = {}
        self.main_task: bytes | None = None
        self.cancel_raised = False
        self.early_cancels: set[bytes] = set()
        self.abandoned: dict[int, tuple[str, tuple]] = {}  # requests left by an interrupt
        self.actor_ctx: dict = {}  # set once this worker hosts an actor
        self.idle_title: str | None = None  # the title to show once idle (see _recv)

    @property
    def region(self) -> Any:
        if self._region is None:
            from ember import _native

            self._region = _native.Region(*self._store)
        return self._region

    # -- sending ----------------------------------------------------------------------

    def send(self, msg: Any) -> None:
        with self.send_lock:
            batch = []
            if self.unpins:
                un = []
                while self.unpins:
                    un.append(self.unpins.popleft())
                batch.append(messages.Unpin(un))
            if self.refs.events:
                batch.append(messages.RefEvents(self.refs.drain()))
            if self.refs.dropped_generators:
                batch.extend(messages.Request(0, "gen_drop", dropped)
                             for dropped in self.refs.drain_dropped_generators())
            if msg is not None:
                batch.append(msg)
            if batch:
                self.conn.send_many(batch)

    def call(self, op: str, *args: Any) -> Any:
        rid = next(self.rids)
        self.in_runtime += 1
        try:
            self.send(messages.Request(rid, op, args))
            self._pump(lambda: rid in self.replies)
        except BaseException:  # interrupted (cancelled): its reply is dropped when it comes
            with self.cond:
                got = self.replies.pop(rid, None)
                if got is None:
                    self.abandoned[rid] = (op, args)
            if got is not None:
                self._drop_reply(op, args, *got)
            raise
        finally:
            self.in_runtime -= 1
        with self.cond:
            ok, value = self.replies.pop(rid)
        if self.cancel_pending:  # cancelled while in the runtime: interrupt on return
            try:
                self._interrupt_if_cancelled()
            except KeyboardInterrupt:
                self._drop_reply(op, args, ok, value)
                raise
        if not ok:
            raise value
        return value

    def _drop_reply(self, op: str, args: tuple, ok: bool, value: Any) -> None:
        """Release what the node pinned for a reply nobody will read (a get's values)."""
        if op == "get" and ok:
            self.unpins.extend(oid for oid, p in zip(args[0], value, strict=False)
                               if p[0] != "i")

    def _interrupt_if_cancelled(self) -> None:
        """Raise KeyboardInterrupt in the cancelled plain task's user code (once)."""
        if self.cancel_pending and self.in_user_code and not self.cancel_raised and \
                threading.current_thread() is threading.main_thread():
            self.cancel_pending = False
            self.cancel_raised = True
            raise KeyboardInterrupt

    def call_async(self, op: str, args: tuple, cb: Callable[[bool, Any], None]) -> None:
        rid = next(self.rids)
        with self.cond:
            self.callbacks[rid] = cb
        self.send(messages.Request(rid, op, args))
        with self.cond:
            needs_reader = not self.leading and self.executor is None
        if needs_reader:
            threading.Thread(target=self._pump, args=(lambda: rid not in self.callbacks,),
                             daemon=True).start()

    def submit(self, op: str, spec: TaskSpec | ActorSpec) -> None:
        """One-way submission (no round trip) unless the node must check the request
        first (a placement group's bundle). Actor calls always are one-way: what can go
        wrong with them is reported through their results."""
        if op == "submit_actor_task":
            self.send(messages.Request(0, op, (spec,)))
            return
        if spec.pg is not None or self.info.get("cluster"):
            self.call(op, spec)
            return
        self.send(messages.Request(0, op, (spec,)))

    def release_cb(self, oid: bytes) -> Callable[[], None]:
        unpins = self.unpins
        return lambda: unpins.append(oid)

    def put_serialized(self, oid: bytes, ser: serialization.Serialized) -> None:
        if ser.size <= INLINE_MAX:
            self.send(messages.Request(0, "put_inline", (oid, ser.to_bytes(), ser.contained)))
            return
        self.write_to_store(oid, ser)
        self.send(messages.Request(0, "seal_object", (oid, ser.size, ser.contained)))

    def write_to_store(self, oid: bytes, ser: serialization.Serialized) -> None:
        offset = self.call("create_object", oid, ser.size)
        region = self.region
        ser.write_into(lambda off, piece: region.write(offset + off, piece))

    def node_info(self) -> dict:
        return self.info

    def task_context(self) -> dict:
        return context.task_ctx.get() or self.actor_ctx

    # -- reading ----------------------------------------------------------------------

    def _pump(self, until: Callable[[], bool]) -> None:
        with self.cond:
            while not until():
                if self.lost is not None:
                    raise self.lost
                if self.cancel_pending:
                    self._interrupt_if_cancelled()
                if self.leading:
                    self.cond.wait()
                    continue
                self.leading = True
                self.cond.release()
                msgs: list[Any] | None = None
                try:
                    msgs = self._recv()
                except (framing.ConnectionClosed, OSError):
                    pass
                finally:
                    self.cond.acquire()
                    self.leading = False
                if msgs is None:
                    self._connection_lost()
                    continue
                for m in msgs:
                    self._dispatch(m)
                self.cond.notify_all()
                if self.cancel_pending:
                    self._interrupt_if_cancelled()

    def _connection_lost(self) -> None:
        """The node closed this process's connection: a worker ends with its node."""
        os._exit(0)

    def _recv(self) -> list[Any]:
        """The next messages from the node. Ref and unpin events queued meanwhile go out
        first; while other threads run (and may drop refs) they go out every 0.1 s. With
        none, the worker stays a single thread (Ray's fork support needs that)."""
        self.send(None)
        alone = threading.active_count() == 1
        # Poll before sleeping (spin.py) only while no other thread of ours could use the
        # GIL meanwhile (an async or threaded actor's calls run on other threads).
        spinner = self.spinner if alone else None
        if self.idle_title is not None:
            msgs = self.conn.recv_for(IDLE_TITLE_AFTER_S, spinner)
            if msgs:
                return msgs
            title, self.idle_title = self.idle_title, None
            if title is not None:
                procutil.set_title(title)
        if alone:
            return self.conn.recv_blocking(spinner)
        return self.conn.recv_for(0.1)

    def _dispatch(self, m: Any) -> None:
        t = type(m)
        if t is messages.Reply:
            cb = self.callbacks.pop(m.rid, None)
            if cb is not None:
                cb(m.ok, m.value)
            elif self.abandoned and m.rid in self.abandoned:
                op, args = self.abandoned.pop(m.rid)
                self._drop_reply(op, args, m.ok, m.value)
            else:
                self.replies[m.rid] = (m.ok, m.value)
        elif t is messages.Execute:
            kind, spec = m.kind, specs.decode(m.kind, m.spec)
            if self.executor is not None and kind == "actor_task":
                self.executor.submit(spec)
            elif isinstance(spec, TaskSpec) and spec.concurrency_group == SYSTEM_GROUP \
                    and self.runner is not None:
                self._system_pool().submit(self.runner._run_sync, spec, True)
            else:
                self.work.append((kind, spec))
        elif t is messages.Hello:
            self.info = m.info
            ids.set_job(m.info["job_id"])
        elif t is messages.Cancel:
            self.cancel(m.task_id)
        elif t is messages.Collect:  # the store is filling up: free values held by cycles
            import gc

            gc.collect()
        elif t is messages.Warn:  # the node tells this driver about work that cannot run
            sys.stderr.write(f"ember: warning: {m.message}\n")
        elif t is messages.Exit:
            os._exit(0)

    def cancel(self, task_id: bytes) -> None:
        """The node cancels a call sent here: it sees is_canceled(); the plain task on the
        main thread is interrupted (at once if it waits in get/wait, else by the SIGINT
        that follows); a call that has not started never runs."""
        ctx = self.running.get(task_id)
        if ctx is None:
            self.early_cancels.add(task_id)
        else:
            ctx["canceled"] = True
            if task_id == self.main_task and not self.cancel_raised:
                self.cancel_pending = True
        if self.executor is not None:
            self.executor.cancel(task_id)

    def _system_pool(self) -> Any:
        """The thread that runs a plain actor's calls in Ray's system group, so that they
        are never stuck behind the actor's own work."""
        if self._system is None:
            from concurrent.futures import ThreadPoolExecutor

            self._system = ThreadPoolExecutor(1, thread_name_prefix="ember-system")
        return self._system

    def run(self) -> None:
        from ember._core.worker.execution import Runner

        runner = self.runner = Runner(self)
        while True:
            if self.work:
                kind, spec = self.work.popleft()
                runner.execute(kind, spec)
                continue
            if self.executor is not None:
                self._pump(lambda: False)
            self._pump(lambda: bool(self.work))


class _LineWriter(io.TextIOBase):
    """Writes whole lines to an fd, each prefixed with '(pid=N) ' as the driver shows it,
    and (unprefixed) to the worker's log file when it has one."""

    def __init__(self, fd: int, prefix: str, log_fd: int = -1) -> None:
        self._fd = fd
        self._prefix = prefix
        self._log_fd = log_fd
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        with self._lock:
            data = self._partial + s
            lines = data.split("\n")
            self._partial = lines.pop()
            if lines:
                out = "".join(f"{self._prefix}{ln}\n" for ln in lines)
                _write_all(self._fd, out.encode("utf-8", "replace"))
                if self._log_fd >= 0:
                    _write_all(self._log_fd, "".join(f"{ln}\n" for ln in lines).encode(
                        "utf-8", "replace"))
        return len(s)

    def flush(self) -> None:
        with self._lock:
            if self._partial:
                _write_all(self._fd, f"{self._prefix}{self._partial}".encode("utf-8", "replace"))
                if self._log_fd >= 0:
                    _write_all(self._log_fd, self._partial.encode("utf-8", "replace"))
                self._partial = ""

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except OSError:
            return
        data = data[n:]


def _apply_setup(setup: dict) -> None:
    os.environ.update(setup.get("env_vars") or {})
    for p in setup.get("driver_sys_path") or []:
        if p not in sys.path:
            sys.path.append(p)
    for p in reversed(setup.get("sys_path") or []):
        sys.path.insert(0, p)
    if setup.get("cwd"):
        os.chdir(setup["cwd"])
    if setup.get("gpu_ids") is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in setup["gpu_ids"])


def main(sock: socket.socket, wid: int, store_fd: int, store_size: int, setup: dict) -> int:
    ids.reseed()
    refs.current = refs.LocalRefs()
    log_fd = -1
    if setup.get("log_dir"):  # worker-<pid>.out, served by the dashboard's logs API
        try:
            log_fd = os.open(os.path.join(setup["log_dir"], f"worker-{os.getpid()}.out"),
                             os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError:
            log_fd = -1
    if setup.get("log_to_driver", True):
        prefix = f"(pid={os.getpid()}) "
        sys.stdout = _LineWriter(1, prefix, log_fd)
        sys.stderr = _LineWriter(2, prefix, log_fd)
    else:
        devnull = os.open(os.devnull, os.O_WRONLY)
        sys.stdout = _LineWriter(devnull, "", log_fd)
        sys.stderr = _LineWriter(devnull, "", log_fd)
    _apply_setup(setup)
    client = WorkerClient(sock, wid, store_fd, store_size)
    if setup.get("runtime_env"):  # what it starts inherits its environment, as in Ray
        from ember._core.common.runtime_env import env_key

        client.job_runtime_env = setup["runtime_env"]
        client.job_env_key = env_key(setup["runtime_env"])
    context.session = context.Session(client=client, refs=refs.current,
                                      info=client.node_info())

    def on_sigint(_sig: int, _frame: Any) -> None:
        # Sent by the node to cancel the plain task on the main thread. Outside user code
        # (arguments being read, a call into the runtime) it is deferred: the task is
        # interrupted before it starts or when the call returns, never inside a read or
        # write of the node's socket.
        task_id = client.main_task
        if task_id is None:
            return
        ctx = client.running.get(task_id)
        if ctx is not None:
            ctx["canceled"] = True
        if client.cancel_raised:
            return
        if client.in_user_code and not client.in_runtime:
            client.cancel_raised = True
            raise KeyboardInterrupt
        client.cancel_pending = True

    signal.signal(signal.SIGINT, on_sigint)
    client.run()
    return 0
