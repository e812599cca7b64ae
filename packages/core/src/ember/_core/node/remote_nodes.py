"""Other nodes of the cluster: their resources, tasks spilled to them, results back.

A mixin of NodeManager. In a cluster, the node manager mirrors every other node's
resources (from the control store) into its C++ scheduler. A task it cannot place here
(or that asks for SPREAD or another node) is forwarded to a node that can take it, with
its argument values; the node that ran it sends the results back. Small results come
inline; a large one stays in the remote store until this node, still its owner, has
pulled it in chunks, and is then freed there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ember._core.common import ids, serialization
from ember._core.common.constants import STREAMING
from ember._core.common.specs import ActorSpec, TaskSpec, copy_task
from ember._core.node.actor_choice import holds_nothing, random_node_with_room
from ember._core.node.cluster_port import Dep, Forwarded, ForwardFailure
from ember._core.node.records import QUEUED, RUNNING, GenState, Task
from ember._core.node.remote_values import REMOTE_OWNER
from ember.exceptions import (
    NodeDiedError,
    ObjectLostError,
    ObjectReconstructionFailedError,
    TaskCancelledError,
)

if TYPE_CHECKING:
    from ember._core.node.actor_directory import ActorDirectory
    from ember._core.node.actor_manager import ActorManager
    from ember._core.node.jobs import JobTracker
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.placement import PlacementManager
    from ember._core.node.remote_values import RemoteValues
    from ember._core.node.task_manager import TaskManager

# Tasks only a peer can run may queue there beyond its free resources, up to this many
# per peer, so that its workers never wait a round trip for the next task.
_PIPELINE = 16
# A pull from a peer that is still listed as alive is tried this many times, a second apart.
_PULL_TRIES = 30
# How long calls may wait for an actor that its owner is still sending to this node.
_EARLY_CALL_WAIT = 10.0
# How long a call its actor's node did not answer waits for that node to be declared dead
# (the control store's default is 10 s) before it fails as any unsent call does.
_UNREACHABLE_GRACE_S = 30.0


class Peer:
    __slots__ = ("node_id", "address", "totals", "available", "transfer", "labels")

    def __init__(self, node_id: str, address: str, totals: dict[str, float],
                 transfer: str, labels: dict[str, str] | None = None) -> None:
        self.node_id = node_id
        self.labels = labels or {}
        self.address = address
        self.totals = totals
        self.available = dict(totals)
        self.transfer = transfer  # host:port of its object transfer service


class RemoteNodes:
    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self.peers: dict[str, Peer] = {}
        self.forwarded: dict[bytes, Task] = {}  # tasks we own that run on a peer
        self.queued_remote: set[bytes] = set()  # forwarded before the peer had room
        # Calls from other nodes that arrived before the actor did (its owner sends it
        # here while callers already know from the directory that it lives here).
        self._early_calls: dict[bytes, list[tuple]] = {}

    def connect(
        self,
        *,
        directory: ActorDirectory,
        actor_manager: ActorManager,
        jobs: JobTracker,
        placement: PlacementManager,
        remote_values: RemoteValues,
        task_manager: TaskManager,
    ) -> None:
        """Wire the sibling components this one calls."""
        self.directory = directory
        self.actor_manager = actor_manager
        self.jobs = jobs
        self.placement = placement
        self.remote_values = remote_values
        self.task_manager = task_manager

    # -- membership -------------------------------------------------------------------

    def sync_peers(self, nodes: list[Any]) -> None:
        """Mirror the control store's node list into the scheduler (called periodically)."""
        changed = False
        with self.node.lock:
            for n in nodes:
                if n.node_id == self.node.node_id:
                    continue
                peer = self.peers.get(n.node_id)
                if n.state != "ALIVE":
                    if peer is not None:
                        self._peer_dead(peer, n.death_reason or "the node died")
                        changed = True
                    continue
                if peer is None:
                    self.task_manager.infeasible_warned.clear()  # warn again about what still waits
                    peer = Peer(n.node_id, n.address, dict(n.resources),
                                n.labels.get("transfer", ""), dict(n.labels))
                    self.peers[n.node_id] = peer
                    self.node.scheduler.add_node(n.node_id, peer.totals)
                    changed = True
                peer.available = dict(n.available)
                self._mirror(peer)
            if (changed or self.task_manager.queues or self.placement.pending_pgs
                    or self.actor_manager.pending_actors):
                self.node.on_resources_freed()

    def _mirror(self, peer: Peer) -> None:
        """Set the scheduler's view of a peer from its last report and what we sent it.

        Its report already counts those of our tasks that had started, so per resource the
        larger of the two is taken rather than their sum (which would count them twice).
        """
        in_flight: dict[str, float] = {}
        for t in self.forwarded.values():
            if t.remote_node == peer.node_id:
                for k, v in t.resources.items():
                    in_flight[k] = in_flight.get(k, 0.0) + v
        self.node.scheduler.remove_node(peer.node_id)
        self.node.scheduler.add_node(peer.node_id, peer.totals)
        used = {k: max(0.0, v - peer.available.get(k, 0.0)) for k, v in peer.totals.items()}
        for k, v in in_flight.items():
            used[k] = min(peer.totals.get(k, 0.0), max(used.get(k, 0.0), v))
        used = {k: v for k, v in used.items() if v > 0}
        if used:
            self.node.scheduler.acquire(peer.node_id, used)

    def _peer_dead(self, peer: Peer, reason: str) -> None:
        self.peers.pop(peer.node_id, None)
        self.node.scheduler.remove_node(peer.node_id)
        self.placement.pgs_lost_with(peer.node_id)
        self._objects_lost_with(peer.node_id, reason)
        for actor in [a for a in self.actor_manager.actors.values() if a.remote_node == peer.node_id]:
            self._remote_actor_lost(actor, f"its node {peer.node_id} died ({reason})")
        for task in [t for t in self.forwarded.values()
                     if t.remote_node == peer.node_id and t.actor is None]:
            self.forwarded.pop(task.task_id, None)
            self.queued_remote.discard(task.task_id)
            task.remote_node = ""
            if task.spec.pg is not None:
                self.task_manager.release_task_resources(task)
            if task.cancelled:
                err_c = TaskCancelledError(task.task_id.hex())
                self.task_manager.fail_task(task, serialization.serialize_error(err_c).to_bytes())
            elif task.retries_left != 0:
                task.retries_left -= 1
                task.state = QUEUED
                self.task_manager.enqueue(task, front=True)
            else:
                err = NodeDiedError(f"The node {peer.node_id} running task {task.name!r} died "
                                    f"({reason}) and max_retries is used up.")
                self.task_manager.fail_task(task, serialization.serialize_error(err).to_bytes())

    # -- spilling tasks to peers --------------------------------------------------------

    def spill_target(self, task: Task, local_fits: bool) -> str:
        """A peer to forward `task` to, or "" to keep it here."""
        if self.node.link is None or not self.peers or task.owner is not None:
            return ""
        if task.spec.pg is not None or task.actor is not None:
            return ""
        node = self._picked_peer(task.spec, task.resources, local_fits)
        if node:
            return node
        if local_fits or self._fits(self.node.total_resources, task.resources):
            return ""  # this node can run it later: wait here
        return self._pipeline_target(task, task.spec.affinity)

    def _picked_peer(self, spec: TaskSpec | ActorSpec, resources: dict[str, float], local_fits: bool) -> str:
        """The peer the scheduler picks for a task or actor (its strategy and affinity
        considered), or "" for this node or none now."""
        aff = spec.affinity
        strategy = spec.strategy or "DEFAULT"
        if local_fits and strategy != "SPREAD" and not (aff and aff[0] != self.node.node_id):
            return ""
        from ember import _native

        try:
            node = self.node.scheduler.pick_node(
                resources, "SPREAD" if strategy == "SPREAD" else "DEFAULT",
                local_node=self.node.node_id, affinity_node=aff[0] if aff else "",
                soft=bool(aff[1]) if aff else False)
        except _native.InfeasibleError:
            return ""  # no alive node can hold it: it waits (the caller warns)
        return node if node and node != self.node.node_id and node in self.peers else ""

    def pin_by_labels(self, spec: TaskSpec | ActorSpec, resources: dict[str, float]) -> bool:
        """For work with label selectors: pin it (spec.affinity, hard) to a node whose
        labels match, trying each selector in order (Ray's label_selector, then its
        fallback_strategy) and preferring this node, then a node with room now. False if
        no alive node matches and can hold it: the work waits, as in Ray."""
        from ember import _labels

        aff = spec.affinity
        nodes = [(self.node.node_id, self.node.labels)]
        nodes += [(p.node_id, p.labels) for p in self.peers.values()]
        for selector in spec.labels or []:
            fit = [n for n, labels in nodes if _labels.matches(labels, selector)
                   and self._fits(self.node.scheduler.total(n), resources)]
            if not fit:
                continue
            if aff and not aff[1] and aff[0] in fit:
                return True  # already pinned to a matching node (e.g. forwarded here)
            now = [n for n in fit if self._fits(self.node.scheduler.available(n), resources)]
            spec.affinity = ((now or fit)[0], False)
            return True
        return False

    @staticmethod
    def _fits(totals: dict[str, float], request: dict[str, float]) -> bool:
        return all(totals.get(k, 0.0) + 1e-9 >= v for k, v in request.items())

    def _pipeline_target(self, task: Task, aff: Any) -> str:
        """The least loaded peer that can ever run `task`, if its queue has room."""
        counts: dict[str, int] = {}
        for t in self.forwarded.values():
            counts[t.remote_node] = counts.get(t.remote_node, 0) + 1
        best = ""
        for p in self.peers.values():
            if aff and not aff[1] and aff[0] != p.node_id:
                continue
            if self._fits(p.totals, task.resources) and counts.get(p.node_id, 0) < _PIPELINE:
                if not best or counts.get(p.node_id, 0) < counts.get(best, 0):
                    best = p.node_id
        return best

    def forward(self, task: Task, node_id: str, reserved: bool = False) -> bool:
        """Send a task to a peer; False if it stays here (the peer has no room for it)."""
        if not reserved and not self.node.scheduler.acquire(node_id, task.resources):
            if self._fits(self.node.total_resources, task.resources):
                return False
            self.queued_remote.add(task.task_id)  # it waits in the peer's queue
        peer = self.peers[node_id]
        deps = self.remote_values.ship_values(task.pins, peer.address, lend=True)
        task.state = RUNNING
        task.started = time.time()
        task.remote_node = node_id
        self.forwarded[task.task_id] = task
        spec = copy_task(task.spec)
        assert spec.fn_id is not None
        spec.fn_bytes = self.node.fns[spec.fn_id]

        def failed(failure: ForwardFailure) -> None:
            with self.node.lock:
                self._forward_failed(task, node_id)

        self.node.cluster.forward(peer.address, Forwarded("task", spec), deps, failed)
        return True

    def _forward_failed(self, task: Task, node_id: str) -> None:
        self.queued_remote.discard(task.task_id)
        if self.forwarded.pop(task.task_id, None) is None:
            return
        task.remote_node = ""
        task.state = QUEUED
        if task.spec.pg is not None:
            self.task_manager.release_task_resources(task)
        elif node_id in self.peers:
            self._mirror(self.peers[node_id])
        if task.cancelled:  # cancelled while on its way
            err = serialization.serialize_error(TaskCancelledError(task.task_id.hex()))
            self.task_manager.fail_task(task, err.to_bytes())
            return
        self.task_manager.enqueue(task, front=True)
        self.task_manager.dispatch()

    # -- actors on peers ----------------------------------------------------------------

    def actor_target(self, actor: Any, local_fits: bool = True) -> str:
        """A peer to place `actor` on, or "" to keep it here."""
        if self.node.link is None or not self.peers or actor.owner is not None:
            return ""
        if actor.pg is not None:
            return ""
        if local_fits and holds_nothing(actor):  # as Ray: a random node with room
            here = self.node.node_id
            node = random_node_with_room(self.node.scheduler, (here, *self.peers),
                                         actor.placement_resources)
            return "" if node == here else node
        return self._picked_peer(actor.spec, actor.placement_resources, local_fits)

    def forward_actor(self, actor: Any, node_id: str, reserved: bool = False) -> None:
        from ember._core.node.records import ALIVE

        if not reserved and not self.node.scheduler.acquire(node_id, actor.resources):
            self.actor_manager.pending_actors.append(actor)
            return
        spec = ActorSpec.decode(actor.spec.encode())
        spec.fn_bytes = self.node.fns[spec.fn_id]
        deps = self.remote_values.ship_values(spec.deps + spec.contained,
                                 self.peers[node_id].address, lend=True)
        actor.remote_node = node_id
        actor.node_id = node_id
        actor.state = ALIVE
        self.directory.actor_moved(actor)
        self._send_forward(node_id, Forwarded("actor_init", spec), deps, lambda f: self._remote_actor_lost(
            actor, f"node {node_id} refused it: {f.why}"))
        self.pump_remote_actor(actor)

    def _send_forward(self, node_id: str, item: Forwarded, deps: list,
                      on_fail: Callable[[ForwardFailure], None]) -> None:
        peer = self.peers[node_id]

        def failed(failure: ForwardFailure) -> None:
            with self.node.lock:
                on_fail(failure)

        self.node.cluster.forward(peer.address, item, deps, failed)

    def pump_remote_actor(self, actor: Any) -> None:
        from ember._core.node.records import ALIVE

        if actor.state != ALIVE or not actor.remote_node:
            return
        for task in self.actor_manager.ready_calls(actor):
            deps = self.remote_values.ship_values(task.pins, self.peers[actor.remote_node].address,
                                     lend=True)
            task.remote_node = actor.remote_node
            self.forwarded[task.task_id] = task
            self._send_forward(actor.remote_node, Forwarded("actor_task", task.spec), deps,
                               lambda f, t=task: self._remote_call_failed(t, f))
        self.actor_manager.maybe_terminate_idle(actor)

    def _remote_call_failed(self, task: Any, failure: ForwardFailure) -> None:
        why = failure.why
        if task.actor is not None and task.actor.proxy:
            self.directory.proxy_call_failed(task, why)
            return
        node_id = task.remote_node
        if task.actor is not None and failure.unreachable and node_id in self.peers:
            # The actor's node does not answer: most likely it died and its death is not
            # known here yet. The call stays in flight, so the node's death requeues it
            # with the actor's restart (as max_task_retries allows); should the node turn
            # out alive, the call fails after the grace period as any unsent call does.
            def give_up() -> None:
                if task.remote_node == node_id and node_id in self.peers and \
                        task.task_id in self.forwarded:
                    self._fail_remote_call(task, why)

            self.node.add_timer(_UNREACHABLE_GRACE_S, give_up)
            return
        self._fail_remote_call(task, why)

    def _fail_remote_call(self, task: Any, why: str) -> None:
        self.forwarded.pop(task.task_id, None)
        if task.actor is not None:
            task.actor.inflight.pop(task.task_id, None)
        err = self.actor_manager.actor_died_error(task.actor, f"The actor's node could not run the call: "
                                     f"{why}")
        self.task_manager.fail_task(task, err)

    def _remote_actor_lost(self, actor: Any, reason: str) -> None:
        """The node hosting a remote actor is gone: restart it elsewhere or let it die."""
        from ember._core.node.records import DEAD, RESTARTING

        if actor.state == DEAD:
            return
        if actor.proxy:
            self.directory.proxy_lost(actor, reason)
            return
        actor.remote_node = ""
        actor.node_id = ""
        if actor.no_restart or actor.restarts_left == 0:
            for task in actor.inflight.values():
                self.forwarded.pop(task.task_id, None)
            self.actor_manager.actor_dead(actor, f"The actor died because {reason}.")
            return
        if actor.restarts_left > 0:
            actor.restarts_left -= 1
        actor.num_restarts += 1
        actor.state = RESTARTING
        self.directory.actor_moved(actor)
        self.actor_manager.requeue_inflight(actor, f"The actor died because {reason}; it is restarting, "
                               "but max_task_retries does not allow retrying the call.")
        self.actor_manager.schedule_actor(actor)

    def kill_remote_actor(self, actor: Any, no_restart: bool) -> None:
        self.send_kill(actor.remote_node, actor.actor_id, no_restart)

    def send_kill(self, node_id: str, actor_id: bytes, no_restart: bool) -> None:
        """Ask a peer (the actor's host, or its owner) to kill an actor."""
        peer = self.peers.get(node_id)
        if peer is not None:
            self.node.cluster.kill_actor(peer.address, actor_id, no_restart)

    # -- cancellation across nodes -----------------------------------------------------

    def send_cancel(self, task: Task, force: bool, recursive: bool) -> None:
        """Cancel on the peer that runs it a task (or actor call) this node sent there."""
        peer = self.peers.get(task.remote_node)
        if peer is not None:
            self._send_cancel(peer.address, ids.return_id(task.task_id, 0), force, recursive)

    def cancel_on_peers(self, oid: bytes, force: bool, recursive: bool) -> None:
        """Ask every peer to cancel the task that makes `oid` (this node does not hold it:
        another node owns it); peers that do not hold it either ignore the request."""
        if self.node.link is None:
            return
        for peer in list(self.peers.values()):
            self._send_cancel(peer.address, oid, force, recursive)

    def _send_cancel(self, address: str, oid: bytes, force: bool, recursive: bool) -> None:
        item = Forwarded("cancel", object_id=oid, force=force, recursive=recursive)
        self.node.cluster.forward(address, item, [], lambda _failure: None)

    # -- running tasks for other owners ------------------------------------------------

    def accept_forwarded(self, item: Forwarded, owner: tuple[str, str], deps: list[Any]) -> None:
        with self.node.lock:
            kind, spec = item.kind, item.spec
            if spec is not None and spec.fn_bytes is not None and spec.fn_id is not None:
                self.node.fns[spec.fn_id] = spec.fn_bytes
                spec.fn_bytes = None
            arrived = self.remote_values.accept_values(deps)
            if kind == "values":  # pushed values of refs that were pending when sent
                self.remote_values.release_arrived(arrived)
                return
            if kind == "job_end":  # a driver went away: its work here ends too
                self.jobs.end_job(item.job, tell_peers=False)
                return
            if kind == "cancel":  # ember.cancel of a task held here, sent by a peer
                self.task_manager.cancel_by_id(item.object_id, item.force,
                                               item.recursive, from_peer=True)
                return
            if isinstance(spec, ActorSpec):  # "actor_init"
                self._accept_actor(spec, owner, arrived)
            elif spec is None:
                raise TypeError(f"forwarded {kind!r} without a spec")
            elif kind == "actor_task":
                self._accept_actor_call(spec, owner, arrived)
                return
            else:
                spec.env_key = self.node.envs.register(spec.runtime_env)  # prepared here
                task = Task(spec, REMOTE_OWNER)
                task.owner = owner
                if spec.num_returns == STREAMING:
                    task.gen = GenState()
                self.task_manager.tasks[task.task_id] = task
                for oid in task.pins:
                    self.node.objects.incref(oid)
                self.remote_values.release_arrived(arrived)  # the task's pins keep them now
                self.task_manager.wait_deps(task, self.task_manager.task_deps_ready)
            if self.jobs.job_ended_here(spec):  # sent before its owner heard the job ended
                self.jobs.drop_job_work(spec.job)

    def _accept_actor(self, spec: ActorSpec, owner: tuple[str, str], deps: list) -> None:
        from ember._core.node.records import Actor

        spec.name = None  # names live with the owner
        spec.lifetime = None
        spec.env_key = self.node.envs.register(spec.runtime_env)  # prepared here
        actor = Actor(spec, REMOTE_OWNER)
        actor.owner = owner
        self.actor_manager.actors[actor.actor_id] = actor
        for oid in spec.deps + spec.contained:
            self.node.objects.incref(oid)
        self.remote_values.release_arrived(deps)
        self.actor_manager.actor_deps_ready(actor)
        for call in self._early_calls.pop(actor.actor_id, []):
            self._accept_actor_call(*call)

    def _accept_actor_call(self, spec: TaskSpec, owner: tuple[str, str], deps: list,
                           may_wait: bool = True) -> None:
        aid = spec.actor_id or b""
        actor = self.actor_manager.actors.get(aid)
        if actor is None and may_wait:
            if aid not in self._early_calls:
                self._early_calls[aid] = []
                self.node.add_timer(_EARLY_CALL_WAIT, lambda: self._early_calls_expired(aid))
            self._early_calls[aid].append((spec, owner, deps))
            return
        task = Task(spec, REMOTE_OWNER)
        task.owner = owner
        task.actor = actor
        task.retries_left = 0  # retries are the owner's business
        if actor is None or actor.proxy or actor.state == "DEAD":
            msg = actor.death_cause if actor is not None else "The actor is not on this node."
            self.remote_values.release_arrived(deps)
            self.task_manager.fail_task(task, self.actor_manager.actor_died_error(actor, msg))
            return
        self.task_manager.tasks[task.task_id] = task
        for oid in task.pins:
            self.node.objects.incref(oid)
        self.remote_values.release_arrived(deps)
        actor.submitted.append(task)
        self.task_manager.wait_deps(task, lambda _t: self.actor_manager.pump_actor(actor))

    def _early_calls_expired(self, actor_id: bytes) -> None:
        for call in self._early_calls.pop(actor_id, []):
            self._accept_actor_call(*call, may_wait=False)  # fails them: it never came

    def kill_for_owner(self, actor_id: bytes, no_restart: bool) -> None:
        with self.node.lock:
            actor = self.actor_manager.actors.get(actor_id)
            if actor is not None and not actor.proxy and actor.state != "DEAD":
                self.actor_manager.op_kill(REMOTE_OWNER, None, actor_id, no_restart)

    def return_to_owner(self, task: Task, results: list, retryable: bool) -> None:
        """Send a remote owner its results; large ones stay here until it frees them."""
        out = [self._keep_for_owner(ids.return_id(task.task_id, i), res)
               for i, res in enumerate(results)]
        nested = [c for res in out for c in res[2]]
        assert task.owner is not None
        deps = self.remote_values.ship_values(nested, task.owner[1]) if nested else []
        self.node.cluster.send_result(task.owner[1], task.task_id, out, retryable, deps)

    def _keep_for_owner(self, oid: bytes, res: tuple) -> tuple:
        """A result as its owner gets it: inline as is; one in the store stays here (held
        for the owner, who pulls it) and goes as ("r", size, contained)."""
        if res[0] == "i":
            return res
        self.node.objects.create(oid, REMOTE_OWNER)
        self.node.store.seal(oid)
        self.node.objects.set_in_store(oid, res[1], res[2])
        return ("r", res[1], res[2])

    def item_to_owner(self, task: Task, index: int, res: tuple) -> None:
        """One item of a streaming generator that runs here for another node."""
        out = self._keep_for_owner(ids.return_id(task.task_id, index), res)
        assert task.owner is not None
        deps = self.remote_values.ship_values(list(out[2]), task.owner[1]) if out[2] else []
        self.node.cluster.send_result(task.owner[1], task.task_id, out, False, deps,
                              item=index)

    def on_remote_item(self, task_id: bytes, node_id: str, index: int, res: tuple,
                       deps: list[Any]) -> None:
        """An item of one of our streaming generators that runs on a peer."""
        with self.node.lock:
            arrived = self.remote_values.accept_values(deps)
            try:
                task = self.forwarded.get(task_id)
                oid = ids.return_id(task_id, index)
                if task is None or task.gen is None:
                    if res[0] == "r":
                        self._free_on(node_id, [oid])
                    return
                self.task_manager.gen_item_entry(task, oid)
                if res[0] == "i":
                    self.node.objects.set_inline(oid, res[1], res[2])
                else:
                    self._track_remote(task, node_id, [(oid, res[1], res[2])])
                task.gen.produced = max(task.gen.produced, index)
                self.task_manager.wake_gen(task)
            finally:
                self.remote_values.release_arrived(arrived)

    def on_remote_result(self, task_id: bytes, node_id: str, results: list,
                         retryable: bool, deps: Sequence[Dep] = ()) -> None:
        with self.node.lock:
            arrived = self.remote_values.accept_values(deps)  # values of refs nested in the results
            try:
                self._remote_result(task_id, node_id, results, retryable)
            finally:
                self.remote_values.release_arrived(arrived)

    def _remote_result(self, task_id: bytes, node_id: str, results: list,
                       retryable: bool) -> None:
        task = self.forwarded.pop(task_id, None)
        if task is None:
            return
        task.remote_node = ""
        if task.actor is not None:
            task.actor.inflight.pop(task_id, None)
        elif task_id in self.queued_remote:
            self.queued_remote.discard(task_id)
        elif task.spec.pg is not None:
            self.task_manager.release_task_resources(task)
        elif node_id in self.peers:
            self.node.scheduler.release(node_id, task.resources)
        if retryable and task.retries_left != 0 and not task.cancelled:
            task.retries_left -= 1
            task.state = QUEUED
            if task.actor is not None:
                task.actor.submitted.appendleft(task)
                self.actor_manager.pump_actor(task.actor)
            else:
                self.task_manager.enqueue(task, front=True)
                self.task_manager.dispatch()
            return
        if task.gen is not None:  # a streaming generator ended (results: its error, if any)
            self.task_manager.finish_task(task, results)
            self.task_manager.dispatch()
            return
        held = []
        for i, res in enumerate(results):
            oid = ids.return_id(task_id, i)
            if res[0] == "i":
                self.node.objects.set_inline(oid, res[1], res[2])
            else:
                held.append((oid, res[1], res[2]))
        if held:
            self._track_remote(task, node_id, held)
        self.task_manager.close_task(task, "FINISHED")
        if task.actor is not None:
            self.actor_manager.maybe_terminate_idle(task.actor)
        else:
            self.task_manager.dispatch()

    # -- results left in a peer's store ------------------------------------------------

    def _track_remote(self, task: Task, node_id: str, held: list) -> None:
        """Record where large results stayed; they are pulled once something waits for
        them, and the task's arguments are kept so that it can run again if they are lost."""
        from ember._core.node.objects import READY, RemoteCopy

        copies = []
        for oid, size, contained in held:
            e = self.node.objects.entries.get(oid)
            if e is None or e.state == READY:  # nobody wants it, or a rerun made it again
                self._free_on(node_id, [oid])
                continue
            e.remote = RemoteCopy(node_id, size, contained, task)
            for c in contained:  # kept until the value is here (or dropped)
                self.node.objects.incref(c)
            copies.append((oid, e))
            self.node.objects.located(oid)  # for wait(fetch_local=False)
        if not copies:
            return
        task.remote_left += len(copies)
        if task.actor is None and task.gen is None and not task.lineage:
            task.lineage = list(task.pins)
            for oid in task.lineage:
                self.node.objects.incref(oid)
        for oid, e in copies:
            if e.waiters and not e.remote.pulling:
                e.remote.pulling = True
                self.fetch(oid, e)

    def fetch(self, oid: bytes, e: Any) -> None:
        copy = e.remote
        self.node.cluster.run(self._pull, copy.node_id, oid, copy.size, copy.contained)

    def drop_remote(self, oid: bytes, e: Any) -> None:
        """The last reference went before the value was pulled: free the peer's copy."""
        node_id, lent = e.remote.node_id, e.remote.task is None
        self._copy_resolved(e)
        if not lent:
            self._free_on(node_id, [oid])

    def _copy_resolved(self, e: Any) -> None:
        copy, e.remote = e.remote, None
        if copy is None:
            return
        for c in copy.contained:
            self.node.objects.decref(c)
        task = copy.task
        if task is None:  # lent by its owner for a task here: nothing else to settle
            return
        task.remote_left -= 1
        if task.remote_left <= 0 and task.lineage:
            lineage, task.lineage = task.lineage, []
            for oid in lineage:
                self.node.objects.decref(oid)

    def _free_on(self, node_id: str, oids: list[bytes]) -> None:
        peer = self.peers.get(node_id)
        if peer is not None:
            self.node.cluster.free_objects(peer.address, oids)

    def _objects_lost_with(self, node_id: str, reason: str) -> None:
        """A peer died: run again the tasks whose results it alone held, or fail them."""
        lost: dict[bytes, tuple[Task, list[bytes]]] = {}
        lent = []
        for oid, e in self.node.objects.entries.items():
            if e.remote is not None and e.remote.node_id == node_id:
                task = e.remote.task
                if task is None:
                    lent.append(oid)
                else:
                    lost.setdefault(task.task_id, (task, []))[1].append(oid)
        for oid in lent:  # an argument whose owner died before it was pulled
            self._copy_resolved(self.node.objects.entries[oid])
            err = ObjectLostError(oid.hex(), f"Object {oid.hex()} was lost: its owner, node "
                                  f"{node_id}, died ({reason}) before it was copied here.")
            self.node.objects.set_inline(oid, serialization.serialize_error(err).to_bytes(), ())
        for task, oids in lost.values():
            entries = [self.node.objects.entries[oid] for oid in oids]
            rebuild = task.actor is None and task.retries_left != 0 and not task.cancelled
            if rebuild:
                for e in entries:
                    e.remote = None
                task.remote_left = 0
                task.pins, task.lineage = task.lineage, []  # the rerun holds them now
                if task.retries_left > 0:
                    task.retries_left -= 1
                task.state = QUEUED
                self.task_manager.tasks[task.task_id] = task
                self.task_manager.enqueue(task, front=True)
                continue
            for oid, e in zip(oids, entries, strict=True):
                self._copy_resolved(e)
                if task.cancelled:  # as in Ray: a cancelled task is not run again
                    err = ObjectReconstructionFailedError(oid.hex(), (
                        f"Object {oid.hex()} was lost with node {node_id} ({reason}) and "
                        f"cannot be rebuilt: task {task.name!r} was cancelled."))
                    self.node.objects.set_inline(
                        oid, serialization.serialize_error(err).to_bytes(), ())
                    continue
                err = ObjectLostError(oid.hex(), (
                    f"Object {oid.hex()} was lost: the only copy was on node {node_id}, which "
                    f"died ({reason}), and it cannot be rebuilt because task {task.name!r} "
                    "has no retries left (max_retries) or is an actor call."))
                self.node.objects.set_inline(oid, serialization.serialize_error(err).to_bytes(), ())

    def _pull(self, node_id: str, oid: bytes, size: int, contained: list[bytes]) -> None:
        """Copy an object from a peer into the local store, chunk by chunk."""
        peer = self.peers.get(node_id)
        try:
            if peer is None:
                raise ConnectionError(f"node {node_id} is not alive")
            with self.node.lock:
                offset = self.node.objects.allocate(oid, size)
            self.node.cluster.pull(peer.address, peer.transfer, oid, self.node.region, offset, size)
            with self.node.lock:
                self.node.store.seal(oid)
                e = self.node.objects.entries.get(oid)
                # The holder's copy goes once pulled, unless it was only lent to us (an
                # argument its owner keeps); a copy dropped meanwhile was freed already.
                free = e is not None and e.remote is not None and e.remote.task is not None
                self.node.objects.set_in_store(oid, size, contained)
                if e is not None:
                    self._copy_resolved(e)
            if free:
                self.node.cluster.free_objects(peer.address, [oid])
        except Exception as exc:  # noqa: BLE001 - the copy is lost with its node
            with self.node.lock:
                try:
                    self.node.store.abort(oid)
                except Exception:  # noqa: BLE001
                    pass
                self._pull_failed(node_id, oid, exc)

    def _pull_failed(self, node_id: str, oid: bytes, exc: Exception) -> None:
        """Try again while the peer is still listed (its death, once the control store
        notices, rebuilds or fails the object); give up after _PULL_TRIES."""
        e = self.node.objects.entries.get(oid)
        if e is None or e.remote is None:
            return
        if node_id not in self.peers:
            self._objects_lost_with(node_id, "it stopped answering")
            return
        e.remote.failures += 1
        if e.remote.failures < _PULL_TRIES:
            e.remote.pulling = False

            def again() -> None:
                if e.remote is not None and not e.remote.pulling and e.waiters:
                    e.remote.pulling = True
                    self.fetch(oid, e)

            self.node.add_timer(1.0, again)
            return
        self._copy_resolved(e)
        err = ObjectLostError(oid.hex(), f"Object {oid.hex()} could not be fetched from node "
                              f"{node_id} after {_PULL_TRIES} tries: {exc}")
        self.node.objects.set_inline(oid, serialization.serialize_error(err).to_bytes(), ())

    def serve_pull(self, oid: bytes, chunk_size: int) -> Any:
        """Yield (offset, bytes) chunks of a local object for a peer."""
        with self.node.lock:
            e = self.node.objects.entries.get(oid)
            if e is None:
                raise KeyError(f"object {oid.hex()} is not on this node")
            if e.inline is not None:
                data: Any = e.inline
                pinned = False
            else:
                offset, size = self.node.store.get(oid)
                data = self.node.region.view(offset, size)
                pinned = True
        try:
            total = len(data)
            for pos in range(0, max(total, 1), chunk_size):
                yield pos, bytes(data[pos:pos + chunk_size]), total
        finally:
            if pinned:
                del data
                self.node.store.release(oid)

    def free_for_owner(self, oids: list[bytes]) -> None:
        with self.node.lock:
            for oid in oids:
                self.node.objects.remove_holder(oid, REMOTE_OWNER)


__all__ = ["REMOTE_OWNER", "STREAMING", "RemoteNodes"]
