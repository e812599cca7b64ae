"""Actors: creation on a dedicated worker, ordered method calls, restarts, names, death.

A mixin of NodeManager. Method calls are sent to the actor's worker in submission order
as soon as their arguments are ready; the worker runs them one at a time, on a thread
pool (max_concurrency) or on an event loop (async actors).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ember._core.common import ids, limits, messages, serialization
from ember._core.common.constants import STREAMING
from ember._core.common.specs import ActorSpec, TaskSpec
from ember._core.node.records import (
    ALIVE,
    DEAD,
    DEPENDENCIES_UNREADY,
    FAILED,
    PENDING_CREATION,
    QUEUED,
    RESTARTING,
    RUNNING,
    Actor,
    GenState,
    Task,
    actor_state_row,
    taken_name_message,
)
from ember._core.node.requests import DEFERRED
from ember._native import StoreFullError
from ember.exceptions import (
    ActorDiedError,
    ActorUnschedulableError,
    ObjectStoreFullError,
    TaskCancelledError,
)

if TYPE_CHECKING:
    from ember._core.node.actor_directory import ActorDirectory
    from ember._core.node.jobs import JobTracker
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.placement import PlacementManager
    from ember._core.node.remote_nodes import RemoteNodes
    from ember._core.node.task_manager import TaskManager

HANDLE_SUFFIX = ids.HANDLE_SUFFIX
_log = logging.getLogger("ember")
handle_id = ids.handle_id

class ActorManager:
    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self.actors: dict[bytes, Actor] = {}
        self.named: dict[tuple[str, str], bytes] = {}
        self.pending_actors: list[Actor] = []
        # The dead actors list_actors shows, oldest first: at most `dead_listed_cap`, as
        # Ray's actor table keeps the newest destroyed actors only.
        self.dead_listed: dict[bytes, None] = {}
        self.dead_listed_cap = limits.dead_actors_kept()

    def connect(
        self,
        *,
        directory: ActorDirectory,
        jobs: JobTracker,
        placement: PlacementManager,
        remote: RemoteNodes,
        task_manager: TaskManager,
    ) -> None:
        """Wire the sibling components this one calls."""
        self.directory = directory
        self.jobs = jobs
        self.placement = placement
        self.remote = remote
        self.task_manager = task_manager

    # -- creation ---------------------------------------------------------------------

    def op_create_actor(self, caller: int, reply: Any, spec: ActorSpec) -> dict:
        name = spec.name
        spec.job_namespace = spec.job_namespace or self.jobs.namespace_of(caller)
        ns = spec.namespace or spec.job_namespace
        spec.namespace = ns
        if name:
            existing = self.named.get((ns, name))
            if existing is not None:  # alive, or dead with handles still held
                if spec.get_if_exists:
                    return self._actor_info(caller, self.actors[existing])
                raise ValueError(taken_name_message(name, ns))
            if self.node.gcs is not None and not spec.name_claimed:
                self.directory.claim_name_then_create(caller, reply, spec)  # names span the cluster
                return DEFERRED
        fn_bytes, spec.fn_bytes = spec.fn_bytes, None
        if fn_bytes is not None:
            self.node.fns[spec.fn_id] = fn_bytes
        self.task_manager.check_feasible(spec.resources or {}, spec.pg,
                             spec.class_name, spec.affinity)
        # A detached actor belongs to no job: it and its work outlive its creator.
        spec.job = "" if spec.lifetime == "detached" else self.jobs.job_of(caller)
        self.jobs.check_job_alive(spec)
        spec.env_key = self.node.envs.register(spec.runtime_env)
        actor = Actor(spec, caller)
        actor.namespace = ns
        self.actors[actor.actor_id] = actor
        if name:
            self.named[(ns, name)] = actor.actor_id
        self.node.hold(caller, handle_id(actor.actor_id))
        entry = self.node.objects.entries[handle_id(actor.actor_id)]
        entry.on_free = self._actor_out_of_scope
        self.node.objects.set_inline(handle_id(actor.actor_id), b"\x00N.", ())
        for oid in spec.deps + spec.contained:
            self.node.objects.incref(oid)
        init = Task(TaskSpec(task_id=spec.actor_id, deps=spec.deps), caller)
        self.task_manager.wait_deps(init, lambda _t: self.actor_deps_ready(actor))
        return {"actor_id": actor.actor_id}

    def actor_deps_ready(self, actor: Actor) -> None:
        if actor.state == DEAD:
            return
        for oid in actor.spec.deps:
            err = self.node.objects.error_bytes(oid)
            if err is not None:
                value, _ = serialization.deserialize(err)
                self.actor_dead(actor, f"The actor's constructor arguments failed: {value}")
                return
        actor.state = PENDING_CREATION
        self.schedule_actor(actor)

    def schedule_actor(self, actor: Actor) -> None:
        """Place the actor, or leave it pending. Never raises: it runs inside other
        requests (a dependency becoming ready, resources freed), so a fault placing this
        actor kills this actor only."""
        try:
            self._place_actor(actor)
        except Exception as e:  # noqa: BLE001 - reported to the actor's callers
            _log.exception("placing actor %r failed", actor.class_name)
            actor.no_restart = True
            self.actor_dead(actor, f"The actor could not be placed: {e!r}")

    def _place_actor(self, actor: Actor) -> None:
        if actor.spec.labels is not None and not self.remote.pin_by_labels(actor.spec, actor.resources):
            if actor not in self.pending_actors:
                self.pending_actors.append(actor)
            self.task_manager.note_infeasible(actor.resources, f"Actor {actor.class_name!r}",
                                  actor.caller, labels=actor.spec.labels)
            return
        why = self.task_manager.unschedulable(actor.spec)
        if why:
            actor.no_restart = True
            actor.unschedulable = True
            self.actor_dead(actor, f"The actor {actor.class_name} cannot be placed: {why}.")
            return
        if not self.node.envs.ready(actor.env_key, lambda: self.task_manager.env_prepared(actor.env_key)):
            self.pending_actors.append(actor)
            return
        pg = actor.pg
        target = self.remote.actor_target(actor)
        if target:
            self.remote.forward_actor(actor, target)
            return
        aff = actor.spec.affinity
        if aff and not aff[1] and aff[0] != self.node.node_id:  # pinned to a busy peer: wait
            if actor not in self.pending_actors:
                self.pending_actors.append(actor)
            return
        if pg is not None:
            node = (self.placement.acquire_bundle(pg, actor.resources)
                    if self.placement.pg_ready_for(pg) else "")
            if node and node != self.node.node_id:  # its bundle is on a peer
                self.remote.forward_actor(actor, node, reserved=True)
                return
            ok = bool(node)
        else:
            ok = self._acquire_here(actor)
        if not ok:
            target = self.remote.actor_target(actor, local_fits=False)
            if target:
                self.remote.forward_actor(actor, target)
                return
            if actor not in self.pending_actors:
                self.pending_actors.append(actor)
            if pg is None:
                self.task_manager.note_infeasible(actor.placement_resources,
                                                  f"Actor {actor.class_name!r}", actor.caller)
            return
        actor.node_id = self.node.node_id
        w = self.node.idle.pop(actor.env_key, actor.resources.get("GPU", 0.0) > 0)
        if w is not None:
            self.start_actor_on(actor, w)
        else:
            self.node.start_worker(actor.env_key, actor)

    def _acquire_here(self, actor: Actor) -> bool:
        """Take the actor's resources on this node; a default actor also needs 1 CPU
        free here (checked, not held), as in Ray."""
        sched, here = self.node.scheduler, self.node.node_id
        if actor.placement_resources is not actor.resources:
            if not sched.acquire(here, actor.placement_resources):
                return False
            sched.release(here, actor.placement_resources)
        return sched.acquire(here, actor.resources)

    def retry_pending_actors(self) -> None:
        if not self.pending_actors:
            return
        pending, self.pending_actors = self.pending_actors, []
        for actor in pending:
            if actor.state != DEAD:
                self.schedule_actor(actor)

    def fail_actors_for_env(self, env_key: str, err: BaseException) -> None:
        for actor in list(self.pending_actors):
            if actor.env_key == env_key:
                self.pending_actors.remove(actor)
                self.actor_dead(actor, f"The actor's runtime_env could not be set up: {err}")

    def start_actor_on(self, actor: Actor, w: Any) -> None:
        if actor.state == DEAD:
            self._release_actor_resources(actor)
            self.node.make_idle(w)
            return
        deps = actor.spec.deps
        try:
            payloads = self.node.payloads(w.wid, deps) if deps else []
        except StoreFullError:  # its arguments cannot be restored now: wait for room
            self._release_actor_resources(actor)
            self.node.make_idle(w)
            if self.node.objects.never_fits(deps):
                actor.no_restart = True
                self.actor_dead(actor, "The actor's constructor arguments cannot be in the "
                                 "object store at once: together they exceed its capacity.")
                return
            self.pending_actors.append(actor)
            self.task_manager.wait_for_space()
            return
        w.state = "actor"
        w.actor = actor
        actor.worker = w
        actor.pid = w.pid
        actor.node_id = self.node.node_id
        gpus = actor.resources.get("GPU")
        actor.gpu_ids = self.placement.allocate_gpus(actor.pg, gpus) if gpus else []
        self.task_manager.send_task(w, "actor_init", actor.spec, deps, actor.gpu_ids, payloads)
        actor.state = ALIVE
        actor.constructed = False
        self.directory.actor_moved(actor)
        self.pump_actor(actor)

    def on_actor_ready(self, w: Any, actor_id: bytes, info: dict) -> None:
        actor = self.actors.get(actor_id)
        if actor is not None and actor.worker is w:
            actor.constructed = True

    def on_actor_failed(self, w: Any, actor_id: bytes, err: bytes) -> None:
        actor = self.actors.get(actor_id)
        if actor is None:
            return
        value, _ = serialization.deserialize(err)
        actor.no_restart = True
        self.actor_dead(actor, f"The actor died because its constructor raised: {value}",
                         value)

    # -- method calls -----------------------------------------------------------------

    def _kill_elsewhere(self, reply: Any, actor_id: bytes, no_restart: bool) -> Any:
        """Kill an actor this node has never heard of (a handle from get_actor, say): its
        owner, found in the control store (off the IO loop: the call blocks), decides."""
        from ember._core.node.requests import DEFERRED

        store = self.node.control_store

        def remote() -> None:
            try:
                row = store.get_actor(actor_id)
            except Exception as e:  # noqa: BLE001 - the caller's error
                with self.node.lock:
                    reply(False, e)
                return
            with self.node.lock:
                if row is None or not row.owner_node:
                    reply(False, ValueError(f"No actor with id {actor_id.hex()}."))
                    return
                if row.state != DEAD:
                    self.remote.send_kill(row.owner_node, actor_id, no_restart)
                reply(True, None)

        self.node.cluster.run(remote)
        return DEFERRED

    def op_submit_actor_task(self, caller: int, reply: Any, spec: TaskSpec) -> None:
        actor_id = spec.actor_id or b""
        actor = self.actors.get(actor_id)
        task = Task(spec, caller)
        task.actor = actor
        caller_w = self.node.workers.get(caller)
        if caller_w is not None and caller_w.task is not None:  # for recursive cancel
            task.parent = caller_w.task.task_id
        retries = spec.max_task_retries
        if retries is None and actor is not None:
            retries = actor.spec.max_task_retries
        task.retries_left = int(retries or 0)
        if self._send_at_once(actor, task):
            return
        n = spec.num_returns
        if n == STREAMING:
            task.gen = GenState()
        for i in range(max(n, 0)):
            self.node.hold(caller, ids.return_id(task.task_id, i))
        if actor is None and self.node.link is not None:
            actor = task.actor = self.directory.actor_proxy(actor_id)
        if actor is None or actor.state == DEAD:
            msg = actor.death_cause if actor is not None else "The actor does not exist."
            self.task_manager.fail_task(task, self.actor_died_error(actor, msg))
            return
        self.task_manager.tasks[task.task_id] = task
        for oid in task.pins:
            self.node.objects.incref(oid)
        actor.submitted.append(task)
        self.task_manager.wait_deps(task, lambda _t: self.pump_actor(actor))

    def _send_at_once(self, actor: Actor | None, task: Task) -> bool:
        """The usual call (to a live actor of this node, no arguments to wait for, no
        call before it still waiting) goes to the actor's worker before it is recorded:
        the worker starts sooner. False (nothing done) otherwise."""
        if (actor is None or actor.state != ALIVE or actor.worker is None or actor.remote_node
                or actor.submitted or task.deps or task.spec.num_returns < 0):
            return False
        self._admit_call(actor, task)  # a new call: not cancelled, no argument failed
        self._send_call(actor, task)  # no arguments: nothing to bring into the store
        self.task_manager.record(task)
        return True

    def pump_actor(self, actor: Actor) -> None:
        if actor.remote_node:
            self.remote.pump_remote_actor(actor)
            return
        if actor.state != ALIVE or actor.worker is None:
            return
        for task in self.ready_calls(actor):
            if not self._send_call(actor, task):
                break
        self.maybe_terminate_idle(actor)

    def _send_call(self, actor: Actor, task: Task) -> bool:
        """Send a call (marked in flight) to the actor's worker; False if its arguments
        cannot be restored into the store now: it goes back first in line and the actor
        is pumped again once there may be room."""
        try:
            assert actor.worker is not None
            payloads = self.node.payloads(actor.worker.wid, task.deps) if task.deps else []
        except StoreFullError:
            actor.inflight.pop(task.task_id, None)
            if self.node.objects.never_fits(task.deps):
                err = ObjectStoreFullError(
                    f"The arguments of {task.name!r} cannot be in the object store at once: "
                    f"together they exceed its capacity ({self.node.store.capacity} bytes).")
                self.task_manager.fail_task(task, serialization.serialize_error(err).to_bytes())
                return True
            task.state = QUEUED
            actor.submitted.appendleft(task)
            self.task_manager.space_waiters.append(lambda: self.pump_actor(actor))
            self.task_manager.wait_for_space()
            return False
        task.worker = actor.worker
        self.task_manager.send_task(actor.worker, "actor_task", task.spec, task.deps, None, payloads)
        return True

    def ready_calls(self, actor: Actor) -> Any:
        """Take the calls whose arguments are ready, each marked running and in flight
        (calls with failed arguments fail). Order holds per caller and concurrency group,
        as in Ray: a call waiting for its arguments holds back the later calls of its
        own caller (in its group) alone."""
        q = actor.submitted
        while q and q[0].missing == 0:  # the usual case: the head is ready, in order
            task = q.popleft()
            if self._admit_call(actor, task):
                yield task
        if q:
            yield from self._ready_calls_past_waiting(actor)

    def _ready_calls_past_waiting(self, actor: Actor) -> Any:
        blocked: set[tuple[int, str]] = set()
        ready = []
        for task in actor.submitted:
            key = (task.caller, task.spec.concurrency_group or "")
            if key in blocked:
                continue
            if task.missing:
                blocked.add(key)
                continue
            ready.append(task)
        for task in ready:
            actor.submitted.remove(task)
            if self._admit_call(actor, task):
                yield task

    def _admit_call(self, actor: Actor, task: Task) -> bool:
        """Mark a call whose arguments are ready as running (False: it was cancelled, or
        an argument failed and so did the call)."""
        if task.cancelled:
            return False
        err = self.task_manager.dep_error(task)
        if err is not None:
            self.task_manager.fail_task(task, err)
            return False
        task.state = RUNNING
        task.started = time.time()
        task.worker_pid = actor.pid
        actor.inflight[task.task_id] = task
        return True

    def on_actor_task_done(self, w: Any, task: Task, results: list, retryable: bool) -> None:
        actor = task.actor
        assert actor is not None
        actor.inflight.pop(task.task_id, None)
        if retryable and task.retries_left != 0 and not task.cancelled:
            task.retries_left -= 1
            actor.inflight[task.task_id] = task
            self._send_call(actor, task)
            return
        self.task_manager.finish_task(task, results)
        self.maybe_terminate_idle(actor)

    def cancel_actor_task(self, task: Task, force: bool, recursive: bool = False) -> bool:
        """A call not sent yet is dropped; one sent to the actor is told (it is not run if
        it has not started; a running call of an async actor is cancelled, one of a sync
        or threaded actor sees `is_canceled()`), as in Ray."""
        if force:
            raise ValueError("force=True is not supported for actor tasks; use ember.kill().")
        actor = task.actor
        assert actor is not None
        already, task.cancelled = task.cancelled, True
        if task in actor.submitted:
            actor.submitted.remove(task)
            err = serialization.serialize_error(TaskCancelledError(task.task_id.hex()))
            self.task_manager.fail_task(task, err.to_bytes())
        elif already:
            pass
        elif task.remote_node:  # the actor lives on a peer
            self.remote.send_cancel(task, False, recursive)
        elif task.task_id in actor.inflight and actor.worker is not None:
            actor.worker.send(messages.Cancel(task.task_id))
        return True

    # -- death and restarts -----------------------------------------------------------

    def on_actor_worker_died(self, actor: Actor, w: Any) -> None:
        actor.worker = None
        self._release_actor_resources(actor)
        if actor.state == DEAD:
            return
        if actor.no_restart or actor.restarts_left == 0:
            cause = actor.death_cause or (
                f"The actor's worker process (pid={w.pid}) died unexpectedly "
                f"and max_restarts ({actor.spec.max_restarts}) is used up.")
            self.actor_dead(actor, cause)
            return
        if actor.restarts_left > 0:
            actor.restarts_left -= 1
        actor.num_restarts += 1
        actor.spec.num_restarts = actor.num_restarts  # the new instance can tell
        actor.state = RESTARTING
        # Calls sent while the constructor ran never started (as in Ray, they wait for a
        # constructor that returns): they go back to the queue whatever max_task_retries.
        self.requeue_inflight(actor, f"The actor died (pid={w.pid}) while running this call; "
                               "it is restarting, but max_task_retries does not allow "
                               "retrying the call.", never_started=not actor.constructed)
        self.schedule_actor(actor)

    def requeue_inflight(self, actor: Actor, failure: str, never_started: bool = False
                         ) -> None:
        """Put the actor's calls in flight back at the head of its queue, in their order,
        where max_task_retries allows (all of them if they `never_started`); the others
        fail with `failure`."""
        retry = []
        for task in list(actor.inflight.values()):
            self.remote.forwarded.pop(task.task_id, None)
            if never_started:
                task.state = QUEUED
                retry.append(task)
            elif task.retries_left != 0:
                if task.retries_left > 0:
                    task.retries_left -= 1
                task.state = QUEUED
                retry.append(task)
            else:
                self.task_manager.fail_task(task, self.actor_died_error(actor, failure))
        actor.inflight.clear()
        for task in reversed(retry):
            actor.submitted.appendleft(task)

    def _release_actor_resources(self, actor: Actor) -> None:
        self.task_manager.release_gpus(actor)
        if actor.node_id == "":
            return
        pg = actor.pg
        if pg is not None:
            self.placement.release_bundle(pg, actor.resources)
        elif actor.node_id == self.node.node_id or actor.node_id in self.remote.peers:
            self.node.scheduler.release(actor.node_id, actor.resources)
        actor.node_id = ""

    def actor_died_error(self, actor: Actor | None, msg: str, cause: Any = None) -> bytes:
        aid = actor.actor_id.hex() if actor is not None else ""
        err: Exception = ActorDiedError(msg, aid, cause)
        if actor is not None and actor.unschedulable:
            err = ActorUnschedulableError(actor.death_cause or msg)
        return serialization.serialize_error(err).to_bytes()

    def actor_dead(self, actor: Actor, cause: str, exc: Any = None) -> None:
        if actor.state == DEAD:
            return
        actor.state = DEAD
        actor.death_cause = cause
        if not actor.proxy:
            self.dead_listed[actor.actor_id] = None
            while len(self.dead_listed) > self.dead_listed_cap:
                del self.dead_listed[next(iter(self.dead_listed))]
        if actor in self.pending_actors:
            self.pending_actors.remove(actor)
        # As in Ray, an actor that died by itself keeps its name while handles to it
        # exist; ember.kill(), exit_actor() and going out of scope free it at once.
        if actor.no_restart or actor.detached or actor.out_of_scope:
            self._release_name(actor)
        err = self.actor_died_error(actor, cause, exc)
        for task in list(actor.inflight.values()) + list(actor.submitted):
            self.task_manager.fail_task(task, err)
        actor.inflight.clear()
        actor.submitted.clear()
        for oid in actor.spec.deps + actor.spec.contained:
            self.node.objects.decref(oid)
        actor.spec.deps = []
        actor.spec.contained = []
        self._release_actor_resources(actor)
        if actor.worker is not None:
            actor.worker.kill()
        if actor.remote_node and not actor.proxy:
            self.remote.kill_remote_actor(actor, True)
        self.directory.actor_moved(actor)

    def op_kill(self, caller: int, reply: Any, actor_id: bytes, no_restart: bool) -> Any:
        actor = self.actors.get(actor_id)
        if actor is None and self.node.gcs is not None and reply is not None:
            return self._kill_elsewhere(reply, actor_id, no_restart)
        if actor is None:
            raise ValueError(f"No actor with id {actor_id.hex()}.")
        if actor.owner is not None and reply is not None:
            # Run here for another node, which owns it: the owner decides (a restart, or
            # the death it records for everyone), as for an actor this node never knew.
            self.remote.send_kill(actor.owner[0], actor_id, no_restart)
            return None
        if no_restart:
            actor.no_restart = True
            actor.death_cause = "The actor was killed by ember.kill()."
        if actor.proxy:  # its owner decides: restart it or let it die
            self.remote.send_kill(actor.owner_node, actor.actor_id, no_restart)
            if no_restart:
                self.actor_dead(actor, actor.death_cause)
        elif actor.remote_node:
            self.remote.kill_remote_actor(actor, no_restart)
            if no_restart:
                self.actor_dead(actor, actor.death_cause)
        elif actor.worker is not None:
            w = actor.worker
            w.kill()
            self.node.on_worker_dead(w)  # now, so later calls wait for the restart
        elif no_restart or actor.restarts_left == 0:
            actor.no_restart = True
            self.actor_dead(actor, actor.death_cause or
                             "The actor was killed by ember.kill() before it started, and "
                             "max_restarts is used up.")
        elif actor.state != DEAD:
            # Killed before its process started: the start still to come is its restart.
            if actor.restarts_left > 0:
                actor.restarts_left -= 1
            actor.num_restarts += 1
            actor.spec.num_restarts = actor.num_restarts

    def _release_name(self, actor: Actor) -> None:
        if actor.name and self.named.get((actor.namespace, actor.name)) == actor.actor_id:
            del self.named[(actor.namespace, actor.name)]

    def _actor_out_of_scope(self, hid: bytes) -> None:
        actor = self.actors.get(hid[:-len(HANDLE_SUFFIX)])
        if actor is None or actor.detached:  # a named actor too, as in Ray
            return
        actor.out_of_scope = True
        if actor.state == DEAD:
            self._release_name(actor)
        self.maybe_terminate_idle(actor)

    def maybe_terminate_idle(self, actor: Actor) -> None:
        if not actor.out_of_scope or actor.state == DEAD:
            return
        if actor.inflight or actor.submitted:
            return
        actor.no_restart = True
        self.actor_dead(actor, "All handles to the actor went out of scope.")

    # -- lookup -----------------------------------------------------------------------

    def op_get_actor(self, caller: int, reply: Any, name: str, namespace: str | None) -> dict:
        ns = namespace or self.jobs.namespace_of(caller)
        aid = self.named.get((ns, name))
        if (aid is None or self.actors[aid].state == DEAD) and self.node.gcs is not None:
            self.directory.named_elsewhere(reply, caller, name, ns)
            return DEFERRED
        if aid is None or self.actors[aid].state == DEAD:
            raise ValueError(f"Failed to look up actor with name {name!r} in namespace {ns!r}.")
        return self._actor_info(caller, self.actors[aid])

    def _actor_info(self, caller: int, actor: Actor) -> dict:
        self.node.hold(caller, handle_id(actor.actor_id))
        return {"actor_id": actor.actor_id, "meta": actor.spec.meta}

    def listed_actors(self) -> list[Actor]:
        """The actors the state API shows: every live one this node holds, and the newest
        dead ones up to the cap."""
        return [a for a in self.actors.values() if not a.proxy and
                (a.state != DEAD or a.actor_id in self.dead_listed)]

    def actor_summary(self, actor: Actor) -> dict:
        return actor_state_row(actor.actor_id, actor.class_name, actor.state,
                               actor.name or "", actor.namespace, actor.pid,
                               actor.num_restarts, actor.node_id or self.node.node_id,
                               actor.death_cause, actor.detached, actor.resources)


__all__ = ["ActorManager", "DEPENDENCIES_UNREADY", "FAILED", "handle_id"]
