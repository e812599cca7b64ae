"""Jobs: which driver each task and actor works for, and the end of a job's work.

A mixin of NodeManager. Every task and non-detached actor carries the key of its job in
its spec ("job"): the driver that submitted it, directly or through tasks and actors of
its own, on any node. When an attached driver goes away (it exited or was killed), its
node ends the job everywhere, as Ray does with a dead job's workers: queued tasks are
dropped, running ones are killed with their workers, non-detached actors die, its
placement groups are removed, and every peer is told to do the same. Detached actors
and groups belong to no job, and neither does the work detached actors submit: they
outlive the driver that created them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember._core.common import serialization
from ember._core.common.specs import ActorSpec, TaskSpec
from ember._core.node.cluster_port import Forwarded
from ember._core.node.records import DEAD, Task
from ember.exceptions import TaskCancelledError

if TYPE_CHECKING:
    from ember._core.node.actor_manager import ActorManager
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.placement import PlacementManager
    from ember._core.node.remote_nodes import RemoteNodes
    from ember._core.node.task_manager import TaskManager

_DRIVER_EXITED = "its driver exited"


class JobTracker:
    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self.ended_jobs: set[str] = set()
        self.driver_namespaces: dict[int, str] = {}  # of attached drivers, by worker id

    def connect(
        self,
        *,
        actor_manager: ActorManager,
        placement: PlacementManager,
        remote: RemoteNodes,
        task_manager: TaskManager,
    ) -> None:
        """Wire the sibling components this one calls."""
        self.actor_manager = actor_manager
        self.placement = placement
        self.remote = remote
        self.task_manager = task_manager

    def job_of(self, caller: int) -> str:
        """The job of work submitted by `caller` ("" for none: work of detached actors)."""
        if caller == 0:  # the driver of an embedded cluster
            return self.node.job_id.hex()
        w = self.node.workers.get(caller)
        if w is None:
            return ""
        if w.state == "driver":
            return self.job_of_driver(w)
        if w.task is not None:
            return w.task.spec.job
        if w.actor is not None:
            return w.actor.spec.job
        return ""

    def namespace_of(self, caller: int) -> str:
        """The namespace of the job whose work `caller` runs (as in Ray, work names and
        finds actors in its job's namespace, on whichever node it runs)."""
        if caller == 0:
            return self.node.namespace
        w = self.node.workers.get(caller)
        ns = ""
        if w is not None:
            if w.state == "driver":
                ns = self.driver_namespaces.get(w.wid, "")
            elif w.task is not None:
                ns = w.task.spec.namespace
            elif w.actor is not None:
                ns = w.actor.spec.job_namespace
        return ns or self.node.namespace

    def job_of_driver(self, w: Any) -> str:
        """The job of a driver attached to this node (unique in the cluster)."""
        return f"{self.node.node_id}/{w.wid}"

    def check_job_alive(self, spec: TaskSpec | ActorSpec) -> None:
        """Refuse new work of a job that has ended (submitted by one of its dying workers)."""
        if spec.job in self.ended_jobs:
            raise TaskCancelledError(spec.task_id.hex())

    def end_job(self, job: str, tell_peers: bool = True) -> None:
        """End every task and non-detached actor of `job` on this node (and on every peer,
        with `tell_peers`). Under the lock; idempotent."""
        if not job:
            return
        first = job not in self.ended_jobs
        self.ended_jobs.add(job)
        self.drop_job_work(job)
        if first and tell_peers and self.node.link is not None:
            self._tell_peers_job_ended(job)

    def drop_job_work(self, job: str) -> None:
        for task in [t for t in self.task_manager.tasks.values()
                     if t.actor is None and t.spec.job == job]:
            self._drop_job_task(task)
        for actor in list(self.actor_manager.actors.values()):
            if actor.proxy or actor.state == DEAD or actor.spec.job != job:
                continue
            actor.no_restart = True
            self.actor_manager.actor_dead(actor, f"The actor's job ended: {_DRIVER_EXITED}.")
        for pg in [p for p in self.placement.pgs.values() if p.job == job and p.state != "REMOVED"]:
            self.placement.op_pg_remove(0, None, pg.pg_id)
        self.node.on_resources_freed()

    def _drop_job_task(self, task: Task) -> None:
        if task.remote_node:  # it runs on a peer, which ends it there
            self.remote.forwarded.pop(task.task_id, None)
            if task.task_id in self.remote.queued_remote:
                self.remote.queued_remote.discard(task.task_id)
            elif task.spec.pg is not None:
                self.task_manager.release_task_resources(task)
            elif task.remote_node in self.remote.peers:
                self.node.scheduler.release(task.remote_node, task.resources)
            task.remote_node = ""
            task.cancelled = True
            err = TaskCancelledError(task.task_id.hex())
            self.task_manager.fail_task(task, serialization.serialize_error(err).to_bytes())
            return
        # Queued: dropped now. Running: its worker is killed; when its death is seen the
        # task fails as cancelled (no retry) and its resources are given back.
        self.task_manager.cancel_task(task, force=True)

    def _tell_peers_job_ended(self, job: str) -> None:
        for peer in list(self.remote.peers.values()):
            self.node.cluster.forward(peer.address, Forwarded("job_end", job=job), [],
                                      lambda _failure: None)

    def job_ended_here(self, spec: TaskSpec | ActorSpec) -> bool:
        """For work forwarded by a peer: True if its job has ended (it is then ended too,
        once accepted, so that its owner hears back as for any cancelled task)."""
        return bool(spec.job) and spec.job in self.ended_jobs


__all__ = ["JobTracker"]
