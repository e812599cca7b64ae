"""The node manager: one per node; owns the store, the scheduler and the worker pool.

It runs an IO thread that reads every worker's socket and the template's fd channel. The
driver of an embedded cluster calls the same request handlers in-process (no socket).
All state is guarded by one lock; handlers never block: a request that must wait (a get of
a pending object) registers a callback and replies later.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ember._core.common import framing, messages, native_errors, refs
from ember._core.common.runtime_env import EnvCache
from ember._core.common.specs import TaskSpec
from ember._core.node.actor_directory import ActorDirectory
from ember._core.node.actor_manager import ActorManager
from ember._core.node.attached_drivers import AttachedDrivers
from ember._core.node.cluster_port import ClusterPort, ControlStore
from ember._core.node.driver_reads import DriverReads, ring
from ember._core.node.gpus import GpuIds
from ember._core.node.introspection import Introspection
from ember._core.node.jobs import JobTracker
from ember._core.node.kv import KeyValue
from ember._core.node.objects import READY, ObjectTable
from ember._core.node.placement import PlacementManager
from ember._core.node.pool import ACTOR, BUSY, DEAD, IDLE, IdleWorkers, Template, WorkerHandle
from ember._core.node.records import Actor, PlacementGroup, Task
from ember._core.node.remote_nodes import RemoteNodes
from ember._core.node.remote_values import RemoteValues
from ember._core.node.requests import DEFERRED, DRIVER
from ember._core.node.task_manager import TaskManager
from ember.exceptions import GetTimeoutError


def _no_reply(ok: bool, value: Any) -> None:
    """The reply to a one-way request: nothing."""


class _Timer:
    __slots__ = ("cb", "cancelled")

    def __init__(self, cb: Callable[[], None]) -> None:
        self.cb = cb
        self.cancelled = False


# Global GC: a store this full asks every worker to run gc.collect(), at most this often.
_GC_FRACTION = 0.75
_GC_INTERVAL_S = 30.0

class NodeManager:
    def __init__(self, *, resources: dict[str, float], object_store_memory: int,
                 session_dir: str, job_id: bytes, namespace: str,
                 log_to_driver: bool = True, node_ip: str = "127.0.0.1",
                 is_head: bool = True, labels: dict[str, str] | None = None,
                 preload_modules: list[str] | None = None,
                 object_spilling: bool | None = None,
                 numpy_when_imported: bool = False) -> None:
        from ember import _native
        from ember._core.common import procutil

        if "memory" not in resources:  # as on every Ray node: 70 % of the machine's memory
            resources = {**resources,
                         "memory": float(int(procutil.total_memory_bytes() * 0.7))}
        # Ray's implicit resources: every node offers `node:<its ip>`, the head also
        # `node:__internal_head__` (tasks pin to a node or the head with them).
        resources = {**resources, f"node:{node_ip}": 1.0}
        if is_head:
            resources["node:__internal_head__"] = 1.0
        self.lock = threading.RLock()
        self.session_dir = session_dir
        self.log_to_driver = log_to_driver
        self.job_id = job_id
        self.namespace = namespace
        self.node_id = os.urandom(14).hex()
        self.labels = {**(labels or {}), "ray.io/node-id": self.node_id}
        self.node_ip = node_ip
        self._last_gc = -_GC_INTERVAL_S  # when the workers last ran Python's collector
        self.start_time = time.time()
        spill_dir = os.path.join(session_dir, "spill")
        os.makedirs(spill_dir, exist_ok=True)
        if object_spilling is None:  # Ray's automatic_object_spilling_enabled
            object_spilling = os.environ.get("EMBER_OBJECT_SPILLING", "1") != "0"
        if not object_spilling:
            spill_dir = ""  # the store never spills: a full store refuses new values
        self.log_dir = os.path.join(session_dir, "logs")  # worker-<pid>.out of each worker
        os.makedirs(self.log_dir, mode=0o700, exist_ok=True)
        self.store = _native.ObjectStore(object_store_memory, spill_dir)
        self.region = self.store.region
        self.objects = ObjectTable(self.store)
        self.scheduler = _native.Scheduler()
        self.total_resources = dict(resources)
        self.total_resources.setdefault("object_store_memory", float(self.store.capacity))
        self.scheduler.add_node(self.node_id, self.total_resources)
        self.num_cpus = int(resources.get("CPU", 1))
        self.gpus = GpuIds(int(resources.get("GPU", 0)))
        self.envs = EnvCache(session_dir)
        self.workers: dict[int, WorkerHandle] = {}
        self.idle = IdleWorkers()
        self.wids = itertools.count(1)
        self.reserved: dict[int, Actor] = {}  # wid being forked -> actor waiting for it
        self.fns: dict[bytes, bytes] = {}
        self.driver_refs = refs.current
        self.link: ClusterPort | None = None  # the cluster transport, once in a cluster
        self.gcs: ControlStore | None = None  # the control store client, once in a cluster
        # The components: each owns one part of the node's state; all run under the lock.
        self.task_manager = TaskManager(self)
        self.actor_manager = ActorManager(self)
        self.placement = PlacementManager(self)
        self.remote = RemoteNodes(self)
        self.remote_values = RemoteValues(self)
        self.directory = ActorDirectory(self)
        self.jobs = JobTracker(self)
        self.introspection = Introspection(self)
        self.driver_reads = DriverReads(self)
        self.drivers = AttachedDrivers(self)
        self.task_manager.connect(actor_manager=self.actor_manager, jobs=self.jobs,
                                  placement=self.placement, remote=self.remote)
        self.actor_manager.connect(directory=self.directory, jobs=self.jobs,
                                   placement=self.placement, remote=self.remote,
                                   task_manager=self.task_manager)
        self.placement.connect(actor_manager=self.actor_manager, jobs=self.jobs,
                               remote=self.remote)
        self.remote.connect(actor_manager=self.actor_manager, directory=self.directory,
                            jobs=self.jobs, placement=self.placement,
                            remote_values=self.remote_values, task_manager=self.task_manager)
        self.remote_values.connect(task_manager=self.task_manager)
        self.directory.connect(actor_manager=self.actor_manager, remote=self.remote)
        self.jobs.connect(actor_manager=self.actor_manager, placement=self.placement,
                          remote=self.remote, task_manager=self.task_manager)
        self.introspection.connect(actor_manager=self.actor_manager,
                                   task_manager=self.task_manager)
        self._timers: list[tuple[float, int, _Timer]] = []
        self._timer_seq = itertools.count()
        self._stopped = False
        self.on_driver_change: Callable[[bool, WorkerHandle, bytes], None] | None = None
        self._backlog: set[WorkerHandle] = set()  # sockets with unwritten frames
        # Driver requests blocked on a deferred reply, failed if the cluster shuts down.
        self._waiting_boxes: dict[int, tuple[list, Callable[[bool, Any], None]]] = {}
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        # numpy_when_imported: a driver's embedded node gives its workers numpy only once
        # the driver has imported it (an idle cluster then holds no numpy), instead of
        # every template importing it once idle.
        self._numpy_watch = numpy_when_imported and "numpy" not in sys.modules
        self.template = Template(self.store.fd, self.store.capacity,
                                 idle_imports=() if numpy_when_imported else None)
        preload = preload_modules if preload_modules is not None else [
            m for m in os.environ.get("EMBER_PRELOAD_PYTHON_MODULES", "").split(",") if m]
        if preload:
            self.template.preload([str(m) for m in preload])
        self._sel.register(self.template.fd_sock, selectors.EVENT_READ, "fds")
        self._sel.register(self.template.conn.sock, selectors.EVENT_READ, "template")
        # Requests by name, from drivers and workers (see handle).
        self._ops: dict[str, Callable[..., Any]] = {
            "cancel": self.task_manager.op_cancel,
            "cluster_info": self.introspection.op_cluster_info,
            "create_actor": self.actor_manager.op_create_actor,
            "create_object": self.op_create_object,
            "gen_drop": self.task_manager.op_gen_drop,
            "gen_next": self.task_manager.op_gen_next,
            "get": self.op_get,
            "get_actor": self.actor_manager.op_get_actor,
            "kill": self.actor_manager.op_kill,
            "kv": KeyValue(self).op_kv,
            "metrics": self.introspection.op_metrics,
            "metrics_report": self.introspection.op_metrics_report,
            "pg_create": self.placement.op_pg_create,
            "pg_ready_ref": self.placement.op_pg_ready_ref,
            "pg_remove": self.placement.op_pg_remove,
            "pg_table": self.placement.op_pg_table,
            "pg_wait": self.placement.op_pg_wait,
            "put_inline": self.op_put_inline,
            "register_fn": self.op_register_fn,
            "seal_object": self.op_seal_object,
            "state": self.introspection.op_state,
            "state_page": self.introspection.op_state_page,
            "object_locations": self.introspection.op_object_locations,
            "state_summary": self.introspection.op_state_summary,
            "submit_actor_task": self.actor_manager.op_submit_actor_task,
            "submit_task": self.task_manager.op_submit_task,
            "wait": self.op_wait,
        }
        self._thread = threading.Thread(target=self._loop, name="ember-node", daemon=True)
        self._thread.start()
        # Warm workers for the first tasks: one per CPU, but no more than the machine has
        # cores (a node declared with 1,000 CPUs would otherwise fork 1,000 processes
        # before its first task); the pool grows on demand past that (TaskManager).
        with self.lock:
            for _ in range(min(self.num_cpus, os.cpu_count() or 1)):
                self.start_worker("", None)

    # -- the IO loop ------------------------------------------------------------------

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _loop(self) -> None:
        while not self._stopped:
            timeout = 0.1
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
            try:
                events = self._sel.select(timeout)
            except (OSError, ValueError):
                if self._stopped:
                    return
                raise
            with self.lock:
                if self._stopped:
                    return
                self.process_driver_refs()
                for key, mask in events:
                    if mask & selectors.EVENT_WRITE:
                        self._flush_backlog(key.data)
                    if mask & selectors.EVENT_READ:
                        self._on_readable(key.data)
                self._run_timers()
                self._watch_backlog()

    def listen(self, path: str, token: str) -> None:
        """Accept drivers on a Unix socket (owner-only file) that present the token."""
        sock = self.drivers.listen(path, token)
        with self.lock:
            self._sel.register(sock, selectors.EVENT_READ, "listen")
        self.wake()

    def add_driver(self, w: WorkerHandle, job_id: bytes, namespace: str) -> bool:
        """Serve an attached, authenticated driver's socket (False once stopped)."""
        with self.lock:
            if self._stopped:
                return False
            self.jobs.driver_namespaces[w.wid] = namespace
            w.on_backlog = self.want_write
            self.workers[w.wid] = w
            self._sel.register(w.conn.sock, selectors.EVENT_READ, w)
            if self.on_driver_change is not None:
                self.on_driver_change(True, w, job_id)
        self.wake()
        return True

    def _on_readable(self, data: Any) -> None:
        if data == "listen":
            self.drivers.accept()
        elif data == "wake":
            try:
                os.read(self._wake_r, 4096)
            except OSError:
                pass
        elif data == "fds":
            self._on_worker_forked(*self.template.receive_worker())
        elif data == "template":
            try:
                self.template.conn.recv_available()
            except (framing.ConnectionClosed, OSError):
                self._sel.unregister(self.template.conn.sock)
        else:
            w: WorkerHandle = data
            if w.reader:  # taken by a driver thread after the selector reported it
                return
            try:
                msgs = w.conn.recv_available()
            except (framing.ConnectionClosed, OSError):
                self.on_worker_dead(w)
                return
            for msg in msgs:
                self.on_worker_message_safely(w, msg)

    def on_worker_message_safely(self, w: WorkerHandle, msg: Any) -> None:
        """Handle one message of a worker (under the lock); an error is printed, never
        raised, so that one bad message cannot stop the node."""
        try:
            self._on_worker_message(w, msg)
        except Exception:  # noqa: BLE001
            import traceback

            traceback.print_exc()

    @property
    def selector(self) -> selectors.BaseSelector:
        """The IO loop's selector (registering and unregistering are thread-safe)."""
        return self._sel

    @property
    def stopped(self) -> bool:
        return self._stopped

    def want_write(self, w: WorkerHandle) -> None:
        self._backlog.add(w)
        if threading.current_thread() is not self._thread:
            self.wake()

    def _watch_backlog(self) -> None:
        """Ask the selector to report writability of sockets with queued frames."""
        for w in self._backlog:
            if w.state != DEAD and not w.conn.closed:
                try:
                    self._sel.modify(w.conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, w)
                except (KeyError, ValueError, OSError):
                    pass
        self._backlog.clear()

    def _flush_backlog(self, w: Any) -> None:
        if not isinstance(w, WorkerHandle) or w.state == DEAD:
            return
        try:
            done = w.conn.flush()
        except OSError:
            return
        if done:
            try:
                self._sel.modify(w.conn.sock, selectors.EVENT_READ, w)
            except (KeyError, ValueError, OSError):
                pass

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, t = heapq.heappop(self._timers)
            if not t.cancelled:
                t.cb()

    def add_timer(self, delay: float, cb: Callable[[], None]) -> _Timer:
        t = _Timer(cb)
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._timer_seq), t))
        self.wake()
        return t

    # -- requests ---------------------------------------------------------------------

    def process_driver_refs(self) -> None:
        driver_refs = self.driver_refs
        if driver_refs.events:
            objects = self.objects
            for is_add, oid in driver_refs.drain():
                if is_add:
                    objects.add_holder(oid, DRIVER)
                else:
                    objects.remove_holder(oid, DRIVER)
        if driver_refs.dropped_generators:
            for dropped in driver_refs.drain_dropped_generators():
                self.handle(DRIVER, "gen_drop", dropped, _no_reply)

    def request(self, op: str, args: tuple) -> Any:
        """Run a request for the driver in its own thread; blocks for deferred replies.

        Replies are only ever made under the lock. A deferred `get` first reads its
        source workers itself (DriverReads); an Event is made, under the lock, only for
        a reply that is still not in after that.
        """
        box: list[tuple[bool, Any]] = []
        waiter: list[threading.Event] = []
        bell: list[int] = []  # the doorbell of a thread reading its workers (DriverReads)
        me = threading.get_ident()

        def reply(ok: bool, value: Any) -> None:
            box.append((ok, value))
            if waiter:
                waiter[0].set()
            if bell and threading.get_ident() != me:  # the reader itself sees the box
                ring(bell[0])

        with self.lock:
            if self._stopped:
                raise RuntimeError("The ember cluster was shut down.")
            self.process_driver_refs()
            self.handle(DRIVER, op, args, reply)
            deferred = not box
            if deferred:
                self._waiting_boxes[id(box)] = (box, reply)
        if deferred:
            if not box and op == "get" and args[1] is None:
                self.driver_reads.wait(args[0], lambda: bool(box), bell)
            if not box:
                with self.lock:
                    if not box:
                        waiter.append(threading.Event())
                if waiter:
                    waiter[0].wait()
            with self.lock:
                self._waiting_boxes.pop(id(box), None)
        ok, value = box[0]
        if not ok:
            raise native_errors.to_public(value)
        return value

    def handle(self, caller: int, op: str, args: tuple, reply: Callable[[bool, Any], None]) -> None:
        fn = self._ops.get(op)
        if fn is None:
            reply(False, ValueError(f"unknown request {op!r}"))
            return
        try:
            result = fn(caller, reply, *args)
        except BaseException as e:  # noqa: BLE001 - returned to the caller
            reply(False, native_errors.to_public(e))
            return
        if result is not DEFERRED:
            reply(True, result)

    def _worker_reply(self, w: WorkerHandle, rid: int, op: str,
                      args: tuple) -> Callable[[bool, Any], None]:
        def reply(ok: bool, value: Any) -> None:
            if not ok:
                value = native_errors.to_public(value)
            if rid:
                w.send(messages.Reply(rid, ok, value))
            elif not ok and op in ("submit_task", "submit_actor_task"):
                self._fail_submission(w.wid, args[0], value)

        return reply

    def _fail_submission(self, caller: int, spec: TaskSpec, err: BaseException) -> None:
        """A one-way submission was refused: its returns carry the error instead."""
        from ember._core.common import ids, serialization

        data = serialization.serialize_error(err).to_bytes()
        n = spec.num_returns
        for i in range(max(n, 1)):
            oid = ids.return_id(spec.task_id, i)
            self.hold(caller, oid)
            self.objects.set_inline(oid, data, ())

    def _on_worker_message(self, w: WorkerHandle, msg: Any) -> None:
        t = type(msg)
        if t is messages.Request:
            self.handle(w.wid, msg.op, msg.args, self._worker_reply(w, msg.rid, msg.op, msg.args))
        elif t is messages.RefEvents:
            objects = self.objects
            for is_add, oid in msg.events:
                if is_add:
                    objects.add_holder(oid, w.wid)
                    w.held.add(oid)
                else:
                    w.held.discard(oid)
                    objects.remove_holder(oid, w.wid)
        elif t is messages.Unpin:
            for oid in msg.object_ids:
                if w.pins[oid] > 0:
                    w.pins[oid] -= 1
                    self.store.release(oid)
        elif t is messages.TaskDone:
            self.task_manager.on_task_done(w, msg.task_id, msg.results, msg.retryable,
                                           msg.times)
        elif t is messages.GeneratorItem:
            self.task_manager.on_gen_item(w, msg.task_id, msg.index, msg.result)
        elif t is messages.ActorReady:
            self.actor_manager.on_actor_ready(w, msg.actor_id, msg.info)
        elif t is messages.ActorFailed:
            self.actor_manager.on_actor_failed(w, msg.actor_id, msg.error)
        elif t is messages.ActorExit:
            if w.actor is not None:
                w.actor.no_restart = True
                w.actor.death_cause = "The actor exited through exit_actor()."
        else:
            raise TypeError(f"unexpected message from worker {w.wid}: {t.__name__}")

    # -- workers ----------------------------------------------------------------------

    def start_worker(self, env_key: str, actor: Actor | None) -> None:
        # Workers see the driver's import path, so functions pickled by reference to a
        # module the driver imported (a test module, a script's sibling) import there too.
        setup = dict(self.envs.setup_for(env_key), log_to_driver=self.log_to_driver,
                     driver_sys_path=[p for p in sys.path if p], log_dir=self.log_dir)
        wid = next(self.wids)
        if actor is not None:
            self.reserved[wid] = actor
        if self._numpy_watch and "numpy" in sys.modules:  # the driver uses numpy now
            self._numpy_watch = False
            self.template.preload([*self.template.preloaded, "numpy"])
        self.template.fork(wid, env_key, setup, for_task=actor is None)

    def _on_worker_forked(self, wid: int, pid: int, sock: Any, env_key: str) -> None:
        sock.setblocking(False)
        w = WorkerHandle(wid, pid, framing.Connection(sock), env_key)
        w.on_backlog = self.want_write
        self.workers[wid] = w
        self._sel.register(sock, selectors.EVENT_READ, w)
        w.send(messages.Hello({"node_id": self.node_id, "job_id": self.job_id,
                          "namespace": self.namespace, "session_dir": self.session_dir,
                          "totals": dict(self.total_resources), "labels": dict(self.labels),
                          "node_ip": self.node_ip,
                          "cluster": self.link is not None}))
        actor = self.reserved.pop(wid, None)
        if actor is not None:
            self.actor_manager.start_actor_on(actor, w)
            return
        self.make_idle(w)
        self.task_manager.dispatch()

    def make_idle(self, w: WorkerHandle) -> None:
        w.state = IDLE
        w.task = None
        self.idle.push(w)

    def on_worker_dead(self, w: WorkerHandle) -> None:
        if w.state == DEAD:
            return
        prev = w.state
        w.state = DEAD
        self.workers.pop(w.wid, None)
        try:
            self._sel.unregister(w.conn.sock)
        except (KeyError, ValueError):
            pass
        w.conn.close()
        self.idle.discard(w)
        for oid, n in w.pins.items():
            for _ in range(n):
                self.store.release(oid)
        w.pins.clear()
        self.placement.owner_died(w.wid)
        for oid in list(w.held):
            self.objects.remove_holder(oid, w.wid)
        w.held.clear()
        self.task_manager.abort_unsealed(w, w.creating)
        if prev == "driver":
            self._on_driver_gone(w)
        if prev == BUSY and w.task is not None:
            self.task_manager.on_task_worker_died(w)
        elif prev == ACTOR and w.actor is not None:
            if not w.actor.spec.job:  # a detached actor's groups go with its process
                self.placement.creator_gone(w.wid)
            self.actor_manager.on_actor_worker_died(w.actor, w)
        self.on_resources_freed()

    def _on_driver_gone(self, w: WorkerHandle) -> None:
        """A connected driver left: its job ends on every node (tasks, actors), except
        for its detached actors."""
        self.jobs.end_job(self.jobs.job_of_driver(w))
        self.jobs.driver_namespaces.pop(w.wid, None)
        for actor in list(self.actor_manager.actors.values()):
            if actor.caller == w.wid and not actor.detached:
                actor.no_restart = True
                self.actor_manager.actor_dead(actor, "The driver that created the actor exited.")
        for pg in list(self.placement.pgs.values()):  # its groups go too, unless detached
            if pg.creator == w.wid and pg.lifetime != "detached":
                self.placement.op_pg_remove(w.wid, None, pg.pg_id)
        if self.on_driver_change is not None:
            self.on_driver_change(False, w, b"")

    def on_resources_freed(self) -> None:
        self.placement.retry_pending_placement_groups()
        self.actor_manager.retry_pending_actors()
        self.task_manager.dispatch()

    # -- simple requests --------------------------------------------------------------

    def op_register_fn(self, caller: int, reply: Any, fn_id: bytes, data: bytes) -> None:
        self.fns[fn_id] = data

    def op_put_inline(self, caller: int, reply: Any, oid: bytes, data: bytes,
                      contained: list[bytes]) -> None:
        self.hold(caller, oid)
        self.objects.set_inline(oid, data, contained)

    def op_create_object(self, caller: int, reply: Any, oid: bytes, size: int) -> int:
        offset = self.objects.allocate(oid, size)
        w = self.workers.get(caller)
        if w is not None:  # dropped if the worker dies before it is sealed
            w.creating.add(oid)
        return offset

    def op_seal_object(self, caller: int, reply: Any, oid: bytes, size: int,
                       contained: list[bytes]) -> None:
        w = self.workers.get(caller)
        if w is not None:
            w.creating.discard(oid)
        self.hold(caller, oid)
        self.store.seal(oid)
        self.objects.set_in_store(oid, size, contained)
        self._maybe_collect_garbage()

    def _maybe_collect_garbage(self) -> None:
        """Ray's global GC: once the store is mostly full, every worker and attached driver
        runs Python's collector, so values kept alive only by reference cycles (ObjectRefs
        among them) are freed. At most once per _GC_INTERVAL_S."""
        now = time.monotonic()
        if now - self._last_gc < _GC_INTERVAL_S:
            return
        st = self.store.stats()
        if st["used_bytes"] < _GC_FRACTION * st["capacity"]:
            return
        self._last_gc = now
        for w in self.workers.values():
            w.send(messages.Collect())

    def hold(self, caller: int, oid: bytes) -> None:
        """Register `caller` as a holder of a new object (its ref is created unannounced)."""
        self.objects.create(oid, caller)
        if caller != DRIVER:
            w = self.workers.get(caller)
            if w is not None:
                w.held.add(oid)

    def put_local(self, oid: bytes, ser: Any) -> None:
        with self.lock:
            self.process_driver_refs()
            self.objects.put_value(oid, ser, DRIVER)

    def op_get(self, caller: int, reply: Any, ids: list[bytes], timeout: float | None) -> Any:
        objects = self.objects
        pending = {oid for oid in ids if not objects.is_ready(oid)}
        if not pending:
            self.task_manager.deliver(caller, ids, reply)
            return DEFERRED
        state = {"left": len(pending), "done": False, "timer": None}

        def on_ready(_oid: bytes) -> None:
            state["left"] -= 1
            if state["left"] == 0 and not state["done"]:
                state["done"] = True
                if state["timer"] is not None:
                    state["timer"].cancelled = True
                self.unblock(caller)
                self.task_manager.deliver(caller, ids, reply)

        for oid in pending:
            objects.when_ready(oid, on_ready)
        if timeout is not None:
            def on_timeout() -> None:
                if state["done"]:
                    return
                state["done"] = True
                for oid in pending:
                    objects.cancel_wait(oid, on_ready)
                self.unblock(caller)
                reply(False, GetTimeoutError(
                    f"Get timed out: {state['left']} of {len(ids)} objects not ready "
                    f"after {timeout} s."))

            state["timer"] = self.add_timer(timeout, on_timeout)
        self.block(caller)
        return DEFERRED

    def payloads(self, caller: int, ids: list[bytes]) -> list[tuple]:
        """Pin and locate `ids` for `caller`, all or none (StoreFullError if spilled ones
        cannot be restored now: see _deliver and the store waits of TaskMixin)."""
        out = self.objects.payloads(ids)
        w = self.workers.get(caller) if caller != DRIVER else None
        if w is not None:
            for oid, p in zip(ids, out, strict=True):
                if p[0] == "s":
                    w.pins[oid] += 1
        return out

    def op_wait(self, caller: int, reply: Any, ids: list[bytes], num_returns: int,
                timeout: float | None, fetch_local: bool = True) -> Any:
        """With fetch_local=False an object counts once its value exists on any node, and
        waiting for it does not copy it here (as in Ray)."""
        objects = self.objects
        entries = objects.entries

        def ready_now() -> list[bytes]:  # inlined is_ready: this scans long lists often
            return [oid for oid in ids
                    if (e := entries.get(oid)) is not None
                    and (e.state == READY or (not fetch_local and e.remote is not None))]

        ready = ready_now()
        if len(ready) >= num_returns or timeout == 0:
            return ready  # all of them: the client remembers them (see wait_ids)
        state = {"count": len(ready), "done": False, "timer": None}
        done = set(ready)
        waiting = [oid for oid in set(ids) if oid not in done]

        def finish() -> None:
            state["done"] = True
            for oid in waiting:
                (objects.cancel_wait if fetch_local else objects.cancel_located)(oid, on_ready)
            if state["timer"] is not None:
                state["timer"].cancelled = True
            self.unblock(caller)
            reply(True, ready_now())

        def on_ready(_oid: bytes) -> None:
            state["count"] += ids.count(_oid)
            if state["count"] >= num_returns and not state["done"]:
                finish()

        for oid in waiting:
            (objects.when_ready if fetch_local else objects.when_located)(oid, on_ready)
        if timeout is not None:
            state["timer"] = self.add_timer(timeout, lambda: state["done"] or finish())
        self.block(caller)
        return DEFERRED

    def block(self, caller: int) -> None:
        """A worker waits on objects: lend its CPU to others so nested tasks can run."""
        w = self.workers.get(caller)
        if w is None:
            return
        w.blocked += 1
        if w.blocked == 1 and w.holds_resources and w.task is not None:
            self.task_manager.release_task_resources(w.task)
            w.holds_resources = False
            self.on_resources_freed()  # pending actors first: one may be what it waits for

    def unblock(self, caller: int) -> None:
        w = self.workers.get(caller)
        if w is None or w.blocked == 0:
            return
        w.blocked -= 1
        if w.blocked == 0 and w.task is not None and not w.holds_resources:
            w.holds_resources = bool(self.task_manager.acquire_task_resources(w.task))

    def attach_cluster(self, link: ClusterPort, gcs: ControlStore) -> None:
        """Take part in a cluster: `link` reaches the peers (and serves them), `gcs` is
        the control store (ember._cluster builds both)."""
        with self.lock:
            self.link = link
            self.gcs = gcs
            self.objects.fetch = self.remote.fetch
            self.objects.drop_remote = self.remote.drop_remote

    @property
    def cluster(self) -> ClusterPort:
        """The cluster transport, on paths that only run in a cluster."""
        link = self.link
        if link is None:
            raise RuntimeError("This node is not part of a cluster.")
        return link

    @property
    def control_store(self) -> ControlStore:
        """The control store client, on paths that only run in a cluster."""
        gcs = self.gcs
        if gcs is None:
            raise RuntimeError("This node is not part of a cluster.")
        return gcs

    def node_info(self) -> dict:
        return {
            "NodeID": self.node_id, "Alive": True, "NodeManagerAddress": "127.0.0.1",
            "NodeManagerHostname": os.uname().nodename, "Resources": dict(self.total_resources),
            "alive": True, "ObjectStoreSocketName": "", "state": "ALIVE",
            "Labels": dict(self.labels),
        }

    # -- shutdown ---------------------------------------------------------------------

    def shutdown(self) -> None:
        with self.lock:
            self._stopped = True
            workers = list(self.workers.values())
            for box, reply in list(self._waiting_boxes.values()):
                if not box:  # still waiting: wake it with an error
                    reply(False, RuntimeError("The ember cluster was shut down."))
        self.wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        for w in workers:
            if w.state != "driver":
                w.kill()
        self.template.stop()
        for w in workers:
            w.conn.close()
        if self.link is not None:
            self.link.stop()
        self._sel.close()
        self.drivers.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.envs.close()


__all__ = ["DEFERRED", "DRIVER", "NodeManager", "PlacementGroup", "Task"]
