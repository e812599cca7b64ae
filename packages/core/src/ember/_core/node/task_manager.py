"""Task submission, dependency waiting, dispatch to workers, completion and retries.

A mixin of NodeManager (shares its state and lock). Ready tasks wait in per-class queues
keyed by resource shape, environment and placement; dispatch takes the head of each queue
while resources and workers allow, so one large request does not hold back small ones.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ember._core.common import ids, messages, serialization
from ember._core.common.constants import STREAMING
from ember._core.common.specs import ActorSpec, TaskSpec, copy_spec
from ember._core.node.records import FAILED, FINISHED, QUEUED, RUNNING, WAITING, GenState, Task
from ember._core.node.requests import DEFERRED
from ember._core.node.task_history import TaskHistory
from ember._native import StoreFullError
from ember.exceptions import (
    ObjectStoreFullError,
    TaskCancelledError,
    TaskPlacementGroupRemoved,
    TaskUnschedulableError,
    WorkerCrashedError,
)

if TYPE_CHECKING:
    from ember._core.node.actor_manager import ActorManager
    from ember._core.node.jobs import JobTracker
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.placement import PlacementManager
    from ember._core.node.remote_nodes import RemoteNodes

_SPACE_RETRY_S = 0.05  # how soon work waiting for room in the store tries again
_log = logging.getLogger("ember")


class TaskManager:
    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self.tasks: dict[bytes, Task] = {}
        self.queues: dict[Any, deque[Task]] = {}
        self.history = TaskHistory(self.node.node_id)
        self.task_totals: dict[str, int] = {}  # finished tasks by end state, ever
        self.max_task_workers = max(32, 4 * self.node.num_cpus)
        self.infeasible_warned: set[tuple] = set()  # requests warned about (until a join)
        self.space_waiters: list[Any] = []  # gets waiting for room in the store
        self.store_parked: list[Task] = []  # queued tasks whose arguments wait for room
        self._space_timer: Any = None

    def connect(
        self,
        *,
        actor_manager: ActorManager,
        jobs: JobTracker,
        placement: PlacementManager,
        remote: RemoteNodes,
    ) -> None:
        """Wire the sibling components this one calls."""
        self.actor_manager = actor_manager
        self.jobs = jobs
        self.placement = placement
        self.remote = remote

    # -- submission -------------------------------------------------------------------

    def op_submit_task(self, caller: int, reply: Any, spec: TaskSpec) -> None:
        fn_bytes, spec.fn_bytes = spec.fn_bytes, None
        if fn_bytes is not None and spec.fn_id is not None:
            self.node.fns[spec.fn_id] = fn_bytes
        self.check_feasible(spec.resources or {}, spec.pg, spec.name,
                             spec.affinity)
        spec.job = self.jobs.job_of(caller)
        spec.namespace = self.jobs.namespace_of(caller)
        self.jobs.check_job_alive(spec)
        spec.env_key = self.node.envs.register(spec.runtime_env)
        task = Task(spec, caller)
        caller_w = self.node.workers.get(caller)
        if caller_w is not None and caller_w.task is not None:
            task.parent = caller_w.task.task_id
        if self._start_at_once(task):
            return
        if spec.num_returns == STREAMING:
            task.gen = GenState()
        self.record(task)
        self.wait_deps(task, self.task_deps_ready)

    def _start_at_once(self, task: Task) -> bool:
        """The usual task (no arguments to wait for, no placement constraint, nothing
        queued, a worker idle) goes to its worker before the bookkeeping that dispatch
        would do first: the worker starts sooner. False (nothing done) otherwise."""
        spec = task.spec
        if (self.queues or task.deps or spec.pg is not None or spec.labels is not None
                or spec.affinity or spec.strategy != "DEFAULT" or spec.num_returns < 0
                or spec.env_key not in self.node.envs.setups):
            return False
        node = self.node
        resources = task.resources
        if resources.get("GPU", 0.0) > 0:
            return False
        if not node.scheduler.acquire(node.node_id, resources):
            return False
        w = node.idle.pop(task.env_key, False)
        if w is None:
            node.scheduler.release(node.node_id, resources)
            return False
        task.state = QUEUED
        self._run_on(task, w)  # no arguments: nothing to bring into the store
        self.record(task)
        return True

    def record(self, task: Task) -> None:
        """Enter a task submitted here: its caller holds its returns (a streaming task's
        items are held as they come); it pins what it references until it ends."""
        node = self.node
        for i in range(max(task.spec.num_returns, 0)):
            node.hold(task.caller, ids.return_id(task.task_id, i))
        self.tasks[task.task_id] = task
        for oid in task.pins:
            node.objects.incref(oid)

    def check_feasible(self, request: dict, pg: Any, name: str, affinity: Any = None) -> None:
        """Refuse at the call site only what can never fit its placement group. A request
        no node can hold now waits with a warning, as in Ray (a fitting node may join)."""
        if pg is not None:
            self.placement.check_bundle_request(pg, request, name)

    def wait_deps(self, task: Task, on_ready: Any) -> None:
        missing = [oid for oid in set(task.deps) if not self.node.objects.is_ready(oid)]
        task.missing = len(missing)
        if not missing:
            on_ready(task)
            return

        def dep_ready(_oid: bytes) -> None:
            task.missing -= 1
            if task.missing == 0:
                on_ready(task)

        for oid in missing:
            self.node.objects.when_ready(oid, dep_ready)

    def dep_error(self, task: Task) -> bytes | None:
        for oid in task.deps:
            err = self.node.objects.error_bytes(oid)
            if err is not None:
                return err
        return None

    def task_deps_ready(self, task: Task) -> None:
        if task.cancelled or task.state != WAITING:
            return
        err = self.dep_error(task)
        if err is not None:
            self.fail_task(task, err)
            return
        if not self.node.envs.ready(task.env_key, lambda: self.env_prepared(task.env_key)):
            task.state = QUEUED
            self.enqueue(task)
            return
        task.state = QUEUED
        if self.enqueue(task):
            self.dispatch()

    def env_prepared(self, env_key: str) -> None:
        with self.node.lock:
            err = self.node.envs.error(env_key)
            if err is not None:
                for q in list(self.queues.values()):
                    for t in list(q):
                        if t.env_key == env_key:
                            q.remove(t)
                            self.fail_task(t, serialization.serialize_error(err).to_bytes())
                self.actor_manager.fail_actors_for_env(env_key, err)
            self.node.on_resources_freed()

    def enqueue(self, task: Task, front: bool = False) -> bool:
        """Queue a task; False if it queued behind a head that waits, else True.

        After every dispatch each queue left waits at its head, so a task queued behind
        others changes nothing dispatch could act on: its caller may skip dispatch.
        """
        pg = task.spec.pg
        labels = task.spec.labels  # work that waits for a labelled node waits apart
        # One queue per scheduling class (function and resource shape), as in Ray, so that
        # a nested task never waits behind its callers' own queued siblings.
        key = (task.spec.fn_id, tuple(sorted(task.resources.items())), task.env_key,
               tuple(pg) if pg else None, repr(labels) if labels else None)
        task.sched_key = key
        q = self.queues.get(key)
        if q is None:
            q = self.queues[key] = deque()
        if front:
            q.appendleft(task)
            return True
        q.append(task)
        head = q[0]
        return head is task or head.cancelled or head.state != QUEUED

    # -- dispatch ---------------------------------------------------------------------

    def acquire_task_resources(self, task: Task) -> str:
        """Reserve what the task needs; the node it then runs on, or "" if none has room.

        Only a task in a placement group whose bundle is on a peer gets a peer here.
        """
        pg = task.spec.pg
        if pg is not None:
            if not self.placement.pg_ready_for(pg):
                return ""
            return self.placement.acquire_bundle(pg, task.resources)
        return self.node.node_id if self.node.scheduler.acquire(self.node.node_id, task.resources) else ""

    def release_task_resources(self, task: Task) -> None:
        pg = task.spec.pg
        if pg is not None:
            self.placement.release_bundle(pg, task.resources)
            return
        self.node.scheduler.release(self.node.node_id, task.resources)

    def dispatch(self) -> None:
        """Start (or forward) the head of each queue while resources and workers allow.

        A fault in one task fails that task only: dispatch itself never raises, since it
        runs inside other requests (a `.remote()`, a finished task, a node joining).
        """
        queues = list(self.queues.items())
        if len(queues) > 1:  # nested work first: its callers hold workers while they wait
            queues.sort(key=self._submitted_by_driver)
        for key, q in queues:
            while q:
                task = q[0]
                if task.cancelled or task.state != QUEUED:
                    q.popleft()
                    continue
                if not self.node.envs.ready(task.env_key, None):
                    break
                try:
                    left = self._dispatch_head(task, len(q))
                except Exception as e:  # noqa: BLE001 - reported to the task's caller
                    _log.exception("dispatching task %r failed", task.name)
                    left = True
                    self.fail_task(task, serialization.serialize_error(e).to_bytes())
                if not left:
                    break
                if q and q[0] is task:
                    q.popleft()
            if not q:
                self.queues.pop(key, None)

    def _submitted_by_driver(self, item: tuple[Any, deque[Task]]) -> bool:
        """Whether a queue's head task comes from a driver (False: from a task or actor)."""
        q = item[1]
        if not q:
            return True
        w = self.node.workers.get(q[0].caller)
        return w is None or w.state == "driver"

    def _dispatch_head(self, task: Task, depth: int) -> bool:
        """Place the task at the head of its queue; True once it has left the queue
        (started, forwarded or failed), False if it must wait (the queue waits too)."""
        if task.spec.labels is not None and not self.remote.pin_by_labels(task.spec, task.resources):
            self.note_infeasible(task.resources, f"Task {task.name!r}", task.caller,
                                  labels=task.spec.labels)
            return False
        why = self.unschedulable(task.spec)
        if why:
            err: Exception = TaskUnschedulableError(f"Task {task.name!r} cannot run: {why}.")
            self.fail_task(task, serialization.serialize_error(err).to_bytes())
            return True
        pg = task.spec.pg
        if pg is not None and (p := self.placement.pgs.get(pg[0])) is not None and p.state == "REMOVED":
            err = TaskPlacementGroupRemoved(
                f"The placement group {pg[0]} of task {task.name!r} was removed before the "
                "task could run.")
            self.fail_task(task, serialization.serialize_error(err).to_bytes())
            return True
        aff = task.spec.affinity
        if self.node.link is not None and (task.spec.strategy != "DEFAULT" or aff):
            target = self.remote.spill_target(task, True)
            if target and self.remote.forward(task, target):
                return True
            if aff and not aff[1] and aff[0] != self.node.node_id:
                return False  # pinned to a peer that is busy now: wait for it
        node = self.acquire_task_resources(task)
        if not node:
            target = self.remote.spill_target(task, False)
            if target and self.remote.forward(task, target):
                return True
            if task.spec.pg is None:
                self.note_infeasible(task.resources, f"Task {task.name!r}", task.caller)
            return False
        if node != self.node.node_id:  # its placement group's bundle is on a peer
            self.remote.forward(task, node, reserved=True)
            return True
        gpu = task.resources.get("GPU", 0.0) > 0
        w = self.node.idle.pop(task.env_key, gpu)
        if w is None:
            self.release_task_resources(task)
            self._grow_pool(task.env_key, depth, gpu)
            return False
        return self._run_on(task, w)

    def unschedulable(self, spec: TaskSpec | ActorSpec) -> str:
        """Why a task or actor can never be placed (hard affinity to a node that is not
        alive), or "". Like Ray, such work fails rather than waits."""
        aff = spec.affinity
        if aff and not aff[1] and aff[0] != self.node.node_id and aff[0] not in self.remote.peers:
            return (f"the node {aff[0]} that its NodeAffinitySchedulingStrategy(soft=False) "
                    "names is not alive")
        return ""

    def note_infeasible(self, request: dict[str, float], what: str, caller: int,
                         labels: list | None = None) -> None:
        """Warn once per submitter that a request no alive node can ever hold waits (as in
        Ray: a node that has the resources may join, and then it runs). The warning goes
        to this node's log and, for an attached driver, to the driver too."""
        if labels is None and self.node.scheduler.is_feasible(request):
            return
        key = (tuple(sorted(request.items())), caller, repr(labels))
        if key in self.infeasible_warned:
            return
        self.infeasible_warned.add(key)
        totals = [self.node.scheduler.total(n) for n in self.node.scheduler.nodes()]
        if labels is not None:
            msg = (f"{what} selects nodes by labels {labels} (tried in order), but no alive "
                   f"node with matching labels can hold {request}. It stays pending until "
                   "such a node joins.")
        else:
            short = sorted(k for k, v in request.items()
                           if not any(t.get(k, 0.0) + 1e-9 >= v for t in totals))
            msg = (f"{what} requests {request}, which no alive node can provide (short of "
                   f"{', '.join(repr(k) for k in short) or 'a node with all of them'}; the "
                   f"nodes have {totals}). It stays pending until a node with these "
                   "resources joins.")
        _log.warning("%s", msg)
        w = self.node.workers.get(caller)
        if w is not None and w.state == "driver":
            w.send(messages.Warn(msg))

    def _grow_pool(self, env_key: str, demand: int, gpu: bool = False) -> None:
        pending = self.node.template.pending[env_key]
        if pending >= min(demand, max(2, 2 * self.node.num_cpus)):  # a 0-CPU node runs 0-CPU tasks
            return
        # Workers blocked in a nested get/wait do not count: the tasks they wait for need
        # workers of their own, or nested work would deadlock at the cap.
        plain = sum(1 for w in self.node.workers.values()
                    if w.actor is None and w.state != "driver" and not w.blocked)
        if plain + sum(self.node.template.pending.values()) >= self.max_task_workers:
            self._reap_idle_other_kind(env_key, gpu)
            return
        self.node.start_worker(env_key, None)

    def _reap_idle_other_kind(self, env_key: str, gpu: bool) -> None:
        """Retire one idle worker that cannot take this work (another runtime env, or the
        other side of the GPU divide) to make room for one that can."""
        for w in list(self.node.workers.values()):
            if w.state == "idle" and (w.env_key != env_key or w.gpu not in (None, gpu)):
                self.node.idle.discard(w)
                w.kill()
                return

    def _run_on(self, task: Task, w: Any) -> bool:
        """Start the task on the idle worker `w` (its resources are held). If its
        arguments cannot be brought into the store now, it gives back its resources and
        the worker and is set aside until there may be room (the tasks queued behind it
        go on meanwhile), or fails if they can never fit. True: it left its queue."""
        try:
            payloads = self.node.payloads(w.wid, task.deps) if task.deps else []
        except StoreFullError:
            self.release_task_resources(task)
            self.node.make_idle(w)
            if not self._store_full_for(task, task.deps):
                self.store_parked.append(task)
            return True
        w.state = "busy"
        w.task = task
        w.holds_resources = True
        task.worker = w
        task.state = RUNNING
        task.started = time.time()
        task.ran_until = 0.0
        task.worker_pid = w.pid
        gpus = task.resources.get("GPU")
        task.gpu_ids = self.placement.allocate_gpus(task.spec.pg, gpus) if gpus else []
        self.send_task(w, "task", task.spec, task.deps, task.gpu_ids, payloads)
        return True

    def send_task(self, w: Any, kind: str, spec: TaskSpec | ActorSpec, deps: list[bytes],
                   gpu_ids: list[int] | None = None, payloads: list | None = None) -> None:
        """Send work to a worker; the arguments' payloads are taken (pinned) here unless
        given (StoreFullError, pinning nothing, if they cannot be restored now)."""
        msg = copy_spec(spec)
        if gpu_ids:
            msg.gpu_ids = gpu_ids
        if deps:
            msg.dep_payloads = payloads if payloads is not None else \
                self.node.payloads(w.wid, deps)
        fn_id = spec.fn_id
        if fn_id is not None and fn_id not in w.fns:
            msg.fn_bytes = self.node.fns[fn_id]
            w.fns.add(fn_id)
        w.send(messages.Execute(kind, msg.encode()))

    # -- waiting for room in the object store -------------------------------------------

    def _store_full_for(self, task: Task, deps: list[bytes]) -> bool:
        """The arguments of `task` cannot all be in memory now. If they never can (they
        exceed the store together), fail it with ObjectStoreFullError and return True;
        otherwise return False: it waits until work in flight releases the store."""
        if not self.node.objects.never_fits(deps):
            self.wait_for_space()
            return False
        err = ObjectStoreFullError(
            f"The arguments of {task.name!r} cannot be in the object store at once: together "
            f"they exceed its capacity ({self.node.store.capacity} bytes).")
        self.fail_task(task, serialization.serialize_error(err).to_bytes())
        return True

    def deliver(self, caller: int, ids: list[bytes], reply: Any) -> None:
        """Reply to a get with the payloads of `ids` once they can all be in memory."""
        if caller and caller not in self.node.workers:
            return  # the caller died while it waited
        try:
            payloads = self.node.payloads(caller, ids)
        except StoreFullError:
            if self.node.objects.never_fits(ids):
                reply(False, ObjectStoreFullError(
                    f"The {len(ids)} objects of this get cannot be in the object store at "
                    f"once: together they exceed its capacity ({self.node.store.capacity} bytes)."))
                return
            self.node.block(caller)  # a worker lends its CPU while it waits, as in any get

            def again() -> None:
                self.node.unblock(caller)
                self.deliver(caller, ids, reply)

            self.space_waiters.append(again)
            self.wait_for_space()
            return
        reply(True, payloads)

    def wait_for_space(self) -> None:
        """Try again shortly what could not get room in the store: readers release their
        pins asynchronously (a driver's views, workers' batched unpins)."""
        if self._space_timer is None:
            self._space_timer = self.node.add_timer(_SPACE_RETRY_S, self._retry_for_space)

    def _retry_for_space(self) -> None:
        self._space_timer = None
        parked, self.store_parked = self.store_parked, []
        for task in reversed(parked):  # back first in their queues, in their order
            if task.state == QUEUED and not task.cancelled:
                self.enqueue(task, front=True)
        waiters, self.space_waiters = self.space_waiters, []
        for cb in waiters:
            cb()
        self.node.on_resources_freed()

    def abort_unsealed(self, w: Any, oids: Any) -> None:
        """Drop store objects a worker created but that will never be sealed (it died
        while writing them, or its task is gone): their memory comes back, and a retry
        can create the same object again."""
        for oid in list(oids):
            try:
                self.node.store.abort(oid)
            except (KeyError, ValueError):  # sealed meanwhile, or already gone
                pass
        if oids is w.creating:
            w.creating.clear()

    def release_gpus(self, owner: Any) -> None:
        if owner.gpu_ids:
            pg = owner.spec.pg
            self.placement.release_gpus(pg, owner.gpu_ids, owner.resources.get("GPU", 0))
            owner.gpu_ids = []

    # -- completion -------------------------------------------------------------------

    def on_task_done(self, w: Any, task_id: bytes, results: list, retryable: bool,
                      times: tuple[float, float] | None = None) -> None:
        written = [ids.return_id(task_id, i) for i, r in enumerate(results) if r[0] == "s"]
        w.creating.difference_update(written)  # sealed below (or dropped: no task)
        task = self.tasks.get(task_id)
        if task is None:
            self.abort_unsealed(w, written)
            return
        if times is not None:  # when the worker really ran it (an actor may queue calls)
            task.started, task.ran_until = times
        if task.actor is not None:
            self.actor_manager.on_actor_task_done(w, task, results, retryable)
            return
        self.release_gpus(task)
        if w.holds_resources:
            self.release_task_resources(task)
            w.holds_resources = False
        # A get/wait the task left unfinished (cancelled there, or an unawaited future)
        # no longer lends its CPU: the worker's next task starts unblocked.
        w.blocked = 0
        if w.state != "dead":
            if self._used_up(w, task):
                self._retire_worker(w)
            else:
                self.node.make_idle(w)
        task.worker = None
        if retryable and task.retries_left != 0 and not task.cancelled:
            task.retries_left -= 1
            task.state = QUEUED
            self.enqueue(task, front=True)
        elif self.queues:
            # The results go out first (their waiters, queued dependents among them, keep
            # their turn), then the worker's next task, then the finished task's record.
            outcome = self.file_results(task, results)
            self.node.on_resources_freed()
            self.close_task(task, *outcome)
            return
        else:
            self.finish_task(task, results)
        self.node.on_resources_freed()

    def _used_up(self, w: Any, task: Task) -> bool:
        """Whether the worker has now run this function max_calls times."""
        limit = task.spec.max_calls or 0
        if not limit:
            return False
        w.calls[task.spec.fn_id] += 1
        return w.calls[task.spec.fn_id] >= limit

    def _retire_worker(self, w: Any) -> None:
        """Let a worker go after its last allowed call (max_calls): it exits and a fresh
        one takes its place when work needs one."""
        w.state = "idle"
        w.task = None
        w.send(messages.Exit())
        self.node.on_worker_dead(w)

    def finish_task(self, task: Task, results: list) -> None:
        """Store a task's results and drop what it pinned."""
        self.close_task(task, *self.file_results(task, results))

    def file_results(self, task: Task, results: list) -> tuple[str, tuple[str, str] | None]:
        """Store a task's results (or send them to its owner); its outcome for close_task."""
        if task.owner is not None:
            if task.gen is not None and results:  # its error is the next item
                task.gen.produced += 1
                self.remote.item_to_owner(task, task.gen.produced, results[0])
                results = []
            self.remote.return_to_owner(task, results, False)
            return _outcome(results, task.task_id)
        if task.gen is not None:
            produced = task.gen.produced
            if results:  # a generator that raised: the error is the next item
                self._store_result(ids.return_id(task.task_id, produced + 1), results[0], task)
                task.gen.produced += 1
            task.gen.done = True
            self.wake_gen(task)
        else:
            for i, res in enumerate(results):
                self._store_result(ids.return_id(task.task_id, i), res, task)
        return _outcome(results, task.task_id)

    def _store_result(self, oid: bytes, res: tuple, task: Task) -> None:
        if task.gen is not None:
            self.gen_item_entry(task, oid)
        if res[0] == "i":
            self.node.objects.set_inline(oid, res[1], res[2])
        else:
            self.node.store.seal(oid)
            self.node.objects.set_in_store(oid, res[1], res[2])

    def close_task(self, task: Task, state: str, error: tuple[str, str] | None = None
                    ) -> None:
        task.state = state
        task.ended = task.ran_until or time.time()
        self.task_totals[state] = self.task_totals.get(state, 0) + 1
        self.tasks.pop(task.task_id, None)
        for oid in task.pins:
            self.node.objects.decref(oid)
        task.pins = []
        actor = task.actor
        self.history.add(task.task_id, task.name, state,
                         "NORMAL_TASK" if actor is None else "ACTOR_TASK",
                         None if actor is None else actor.actor_id, task.resources,
                         task.created, task.started, task.ended, task.worker_pid, error)

    def fail_task(self, task: Task, err: bytes) -> None:
        """Every return of the task becomes the error `err` (serialized)."""
        res = ("i", err, [])
        if task.owner is not None:
            self.remote.return_to_owner(task, [res] * max(task.spec.num_returns, 1), False)
            self.close_task(task, FAILED)
            return
        if task.gen is not None:
            self.finish_task(task, [res])
        else:
            n = task.spec.num_returns
            for i in range(n):
                oid = ids.return_id(task.task_id, i)
                self.node.objects.set_inline(oid, err, ())
            self.close_task(task, FAILED)

    def on_task_worker_died(self, w: Any) -> None:
        task = w.task
        w.task = None
        task.worker = None
        self.release_gpus(task)
        if w.holds_resources:
            self.release_task_resources(task)
            w.holds_resources = False
        if task.cancelled:
            err: Exception = TaskCancelledError(task.task_id.hex())
        elif task.retries_left != 0:
            task.retries_left -= 1
            task.state = QUEUED
            self.enqueue(task, front=True)
            return
        else:
            err = WorkerCrashedError(
                f"The worker running task {task.name!r} (pid={w.pid}) died unexpectedly "
                f"and max_retries ({task.spec.max_retries}) is used up. It was "
                "killed, ran out of memory, or exited (os._exit, a crash in native code)."
            )
        self.fail_task(task, serialization.serialize_error(err).to_bytes())

    # -- generators -------------------------------------------------------------------

    def on_gen_item(self, w: Any, task_id: bytes, index: int, res: tuple) -> None:
        task = self.tasks.get(task_id)
        if res[0] == "s":
            w.creating.discard(ids.return_id(task_id, index))
        if task is None or task.gen is None:
            if res[0] == "s":
                self.abort_unsealed(w, [ids.return_id(task_id, index)])
            return
        if task.owner is not None:
            task.gen.produced = max(task.gen.produced, index)
            self.remote.item_to_owner(task, index, res)
            return
        self._store_result(ids.return_id(task_id, index), res, task)
        task.gen.produced = max(task.gen.produced, index)
        self.wake_gen(task)

    def gen_item_entry(self, task: Task, oid: bytes) -> None:
        """Make the entry for a generator's item: held by its caller, unless the caller
        has dropped the generator (then it goes once nothing else refers to it)."""
        assert task.gen is not None
        if task.gen.dropped_from is not None:
            self.node.objects.create(oid, None)
        else:
            self.node.hold(task.caller, oid)

    def wake_gen(self, task: Task) -> None:
        assert task.gen is not None
        waiters = task.gen.waiters
        task.gen.waiters = []
        for cb in waiters:
            cb()

    def op_gen_next(self, caller: int, reply: Any, task_id: bytes, index: int,
                    gen_state: Any = None) -> Any:
        task = self.tasks.get(task_id)
        oid = ids.return_id(task_id, index)
        if task is None or task.gen is None:
            return ("item", oid) if self.node.objects.entries.get(oid) is not None else ("end",)
        if task.gen.produced >= index:
            return ("item", oid)
        if task.gen.done:
            return ("end",)

        def again() -> None:
            self.node.handle(caller, "gen_next", (task_id, index), reply)

        task.gen.waiters.append(again)
        return DEFERRED

    def op_gen_drop(self, caller: int, reply: Any, task_id: bytes, next_index: int) -> None:
        task = self.tasks.get(task_id)
        last = task.gen.produced if task is not None and task.gen is not None else None
        if task is not None and task.gen is not None:
            task.gen.dropped_from = next_index
        i = next_index
        while True:
            oid = ids.return_id(task_id, i)
            if oid not in self.node.objects.entries:
                if last is None or i > last:
                    break
            else:
                self.node.objects.remove_holder(oid, caller)
                w = self.node.workers.get(caller)
                if w is not None:
                    w.held.discard(oid)
            i += 1

    # -- cancellation -----------------------------------------------------------------

    def op_cancel(self, caller: int, reply: Any, oid: bytes, force: bool, recursive: bool) -> bool:
        return self.cancel_by_id(oid, force, recursive)

    def cancel_by_id(self, oid: bytes, force: bool, recursive: bool,
                     from_peer: bool = False) -> bool:
        """Cancel the task that makes `oid`. A task this node does not hold is owned by
        another node (a task started by a task that ran there): every peer is asked, and
        the one that holds it cancels it (its owner also tells the node running it)."""
        task = self.tasks.get(ids.task_of(oid))
        if task is None:
            e = self.node.objects.entries.get(oid)
            if e is not None and e.remote is not None and e.remote.task is not None:
                e.remote.task.cancelled = True  # finished: never run again to rebuild it
                return True
            if not from_peer:
                self.remote.cancel_on_peers(oid, force, recursive)
            return False
        if task.actor is not None:
            if force and from_peer:
                return False
            return self.actor_manager.cancel_actor_task(task, force, recursive)
        self.cancel_tree(task, force, recursive)
        return True

    def cancel_tree(self, task: Task, force: bool, recursive: bool) -> None:
        """Cancel a task and, with `recursive`, the tasks it submitted (transitively);
        calls to actors among them are cancelled as actor calls (never forced)."""
        if task.actor is not None:
            self.actor_manager.cancel_actor_task(task, False, recursive)
        else:
            self.cancel_task(task, force, recursive)
        if recursive:
            for child in [t for t in self.tasks.values() if t.parent == task.task_id]:
                self.cancel_tree(child, force, True)

    def cancel_task(self, task: Task, force: bool, recursive: bool = False) -> None:
        if task.cancelled and not force:
            return  # asked already (a cancel may reach a node twice: from its owner and peers)
        task.cancelled = True
        if task.remote_node:  # it runs on a peer, which cancels it and reports back
            self.remote.send_cancel(task, force, recursive)
            return
        err = serialization.serialize_error(TaskCancelledError(task.task_id.hex())).to_bytes()
        if task.state in (WAITING, QUEUED):
            q = self.queues.get(task.sched_key)
            if q is not None and task in q:
                q.remove(task)
            self.fail_task(task, err)
        elif task.state == RUNNING and task.worker is not None:
            if force:
                task.worker.kill()
            else:
                # The message wakes a worker blocked in get/wait; the signal interrupts
                # user code (the worker raises KeyboardInterrupt there once per task).
                task.worker.send(messages.Cancel(task.task_id))
                try:
                    os.kill(task.worker.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass


def _outcome(results: list, task_id: bytes = b"") -> tuple[str, tuple[str, str] | None]:
    """A finished task's state for the state API, and (type, message with traceback)
    of the error it raised: FAILED when its results are an error, as Ray reports;
    FINISHED, as in Ray, for a task interrupted by its own cancellation."""
    if not results or results[0][0] != "i" or not results[0][1] \
            or not results[0][1][0] & serialization.FLAG_ERROR:
        return FINISHED, None
    try:
        err, _ = serialization.deserialize(results[0][1])
    except Exception:  # noqa: BLE001 - a class this process cannot load
        return FAILED, ("RayTaskError", "(the error could not be read on the node)")
    cause = getattr(err, "cause", None)
    if isinstance(cause, TaskCancelledError) and cause.task_id == task_id.hex():
        return FINISHED, None
    kind = type(cause).__name__ if cause is not None else type(err).__name__
    return FAILED, (kind, str(err))
