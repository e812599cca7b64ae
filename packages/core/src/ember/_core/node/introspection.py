"""What the dashboard asks a node manager: paged state rows, system metrics, user metrics.

A mixin of NodeManager. Every request runs under the node's lock and only reads (or, for
metric reports, replaces one snapshot), so the dashboard never holds up scheduling for
long: a page is filtered and cut here and only the page crosses to the caller.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember._core.node.records import DEAD, Task, actor_state_row
from ember._core.node.task_history import func_or_class_name

if TYPE_CHECKING:
    from ember._core.node.actor_manager import ActorManager
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.task_manager import TaskManager

_FILTER_OPS = ("=", "!=")
# Metric snapshots of processes that exited are kept (their counters still count), up to:
_MAX_METRIC_SOURCES = 4096


def task_summary(task: Task, node_id: str) -> dict:
    """A live task of this node as a state-API row."""
    return {
        "task_id": task.task_id.hex(),
        "name": task.name,
        "func_or_class_name": func_or_class_name(task.name, task.actor is not None),
        "state": task.state,
        "type": "ACTOR_TASK" if task.actor is not None else "NORMAL_TASK",
        "actor_id": task.actor.actor_id.hex() if task.actor is not None else None,
        "worker_pid": task.worker.pid if task.worker is not None else None,
        "required_resources": dict(task.resources),
        "node_id": node_id,
        "creation_time_ms": int(task.created * 1000),
        "start_time_ms": int(task.started * 1000) or None,
        "end_time_ms": int(task.ended * 1000) or None,
        "pid": task.worker_pid or None,
        "start_time_us": int(task.started * 1e6) or None,
        "end_time_us": int(task.ended * 1e6) or None,
    }


def _job_row(job: Any) -> dict:
    """A driver's job as the control store records it, as a state-API row."""
    return {"job_id": job.job_id, "status": job.status,
            "start_time": int(job.start_time * 1000),
            "end_time": int(job.end_time * 1000) if job.end_time else None,
            "driver_pid": job.driver_pid, "is_dead": job.status != "RUNNING"}


def _stored_actor_row(actor: Any) -> dict:
    """An actor another node owns, as the control store records it, as a state-API row."""
    try:
        data = pickle.loads(actor.data) if actor.data else {}
    except Exception:  # noqa: BLE001 - an older row: the fields below still hold
        data = {}
    return actor_state_row(actor.actor_id, actor.class_name, actor.state, actor.name,
                           actor.namespace, data.get("pid", 0), actor.num_restarts,
                           actor.node_id, actor.death_cause, actor.detached,
                           data.get("resources", {}))


def _matches(row: dict, filters: list[tuple[str, str, Any]]) -> bool:
    for key, op, value in filters:
        if (str(row.get(key)) == str(value)) != (op == "="):
            return False
    return True


class Introspection:
    def __init__(self, node: NodeManager) -> None:
        self.node = node
        # pid -> the last metric snapshot that process reported (ember.util.metrics).
        self.user_metrics: dict[int, list] = {}

    def connect(self, *, actor_manager: ActorManager, task_manager: TaskManager) -> None:
        """Wire the sibling components this one calls."""
        self.actor_manager = actor_manager
        self.task_manager = task_manager

    def op_cluster_info(self, caller: int, reply: Any, what: str) -> Any:
        nodes = [self.node.node_id, *self.node.remote.peers]
        if what in ("resources", "available"):
            out: dict[str, float] = {}
            for n in nodes:
                part = self.node.scheduler.total(n) if what == "resources" else \
                    self.node.scheduler.available(n)
                for k, v in part.items():
                    out[k] = out.get(k, 0.0) + v
            out.update(self.node.placement.bundle_resources(what == "available"))
            return out
        if what == "nodes":
            return [self.node.node_info()] + [
                {"NodeID": p.node_id, "Alive": True, "alive": True, "state": "ALIVE",
                 "NodeManagerAddress": p.address.rsplit(":", 1)[0],
                 "Resources": dict(p.totals),
                 "Labels": {k: v for k, v in p.labels.items() if k != "transfer"}}
                for p in self.node.remote.peers.values()]
        if what == "demands":  # what waits for resources here, per shape (ember status)
            from ember._core.node.demands import pending_demands

            return pending_demands(self.node)
        raise ValueError(f"unknown cluster info {what!r}")

    def op_object_locations(self, caller: int, reply: Any, oids: list[bytes]) -> list[dict]:
        """Where each object's value is, as Ray's get_object_locations answers: the nodes
        holding it and its size; no node and no size while it is not made yet."""
        out = []
        for oid in oids:
            e = self.node.objects.entries.get(oid)
            if e is not None and e.state:  # READY: here (a peer's copy is freed once pulled)
                out.append({"node_ids": [self.node.node_id], "object_size": e.size,
                            "did_spill": False})
            elif e is not None and e.remote is not None:
                out.append({"node_ids": [e.remote.node_id], "object_size": e.remote.size,
                            "did_spill": False})
            else:
                out.append({"node_ids": [], "object_size": None, "did_spill": False})
        return out

    def op_state(self, caller: int, reply: Any, kind: str) -> list[dict]:
        """Rows for the state API (ember.util.state, `ember list`)."""
        if kind == "tasks":
            live = [task_summary(t, self.node.node_id) for t in self.task_manager.tasks.values()]
            return self.task_manager.history.rows() + live
        if kind == "actors":
            return [self.actor_manager.actor_summary(a) for a in self.actor_manager.listed_actors()]
        if kind == "objects":
            return [{"object_id": oid.hex(), "object_size": e.size,
                     "reference_count": e.refs, "state": "READY" if e.state else "PENDING",
                     "in_store": e.in_store, "node_id": self.node.node_id}
                    for oid, e in self.node.objects.entries.items()]
        if kind == "nodes":
            return [self.node.node_info()]
        if kind == "placement_groups":
            return [self.node.placement.pg_summary(p) for p in self.node.placement.pgs.values()]
        if kind == "workers":
            return [{"worker_id": f"{w.wid:016x}", "pid": w.pid, "state": w.state,
                     "is_alive": True, "worker_type": "WORKER"} for w in self.node.workers.values()]
        if kind == "jobs":
            return [{"job_id": self.node.job_id.hex(), "status": "RUNNING",
                     "start_time": int(self.node.start_time * 1000), "end_time": None,
                     "driver_pid": os.getpid(), "is_dead": False}]
        if kind == "store":
            return [self.node.store.stats()]
        raise ValueError(f"Unknown state kind {kind!r}.")

    def op_state_page(self, caller: int, reply: Any, kind: str,
                      filters: list[tuple[str, str, Any]], offset: int,
                      limit: int) -> dict:
        """{"total": rows matching the filters, "rows": the page [offset, offset+limit)}.

        Task rows are newest last, as the history is kept."""
        for _key, op, _value in filters:
            if op not in _FILTER_OPS:
                raise ValueError(f"Unsupported filter operator {op!r}; use '=' or '!='.")
        if kind == "tasks":
            return self._task_page(filters, offset, limit)
        if kind == "jobs" and self.node.gcs is not None:
            return self._cluster_jobs_page(reply, filters, offset, limit)
        if kind == "actors" and self.node.gcs is not None:
            return self._cluster_actors_page(reply, filters, offset, limit)
        source = self.op_state(caller, reply, kind)
        if filters:
            source = [r for r in source if _matches(r, filters)]
        total = len(source)
        return {"total": total, "rows": list(source[offset:offset + limit])}

    def _cluster_jobs_page(self, reply: Any, filters: list[tuple[str, str, Any]],
                           offset: int, limit: int) -> Any:
        """In a cluster: every driver the control store has recorded, running or ended."""
        store = self.node.control_store
        return self._store_page(reply, store.jobs, lambda jobs: [_job_row(j) for j in jobs],
                                filters, offset, limit)

    def _cluster_actors_page(self, reply: Any, filters: list[tuple[str, str, Any]], offset: int,
                             limit: int) -> Any:
        """In a cluster: the actors of every owner, as Ray lists them from its GCS. This
        node's own rows come from its records (fresher); the others from the control
        store."""
        def rows(stored: list[Any]) -> list[dict]:
            am = self.actor_manager
            mine = [am.actor_summary(a) for a in am.listed_actors() if a.owner is None]
            known = {r["actor_id"] for r in mine}
            # Actors run here for another owner: the owner's row (it has the name), with
            # the pid only this node knows.
            hosted = {a.actor_id: a for a in am.listed_actors() if a.owner is not None}
            out = mine
            for a in stored:
                if a.actor_id.hex() in known:
                    continue
                row = _stored_actor_row(a)
                here = hosted.get(a.actor_id)
                if here is not None and here.pid:
                    row["pid"] = here.pid
                out.append(row)
            return out

        return self._store_page(reply, self.node.control_store.actors, rows, filters,
                                offset, limit)

    def _store_page(self, reply: Any, read: Callable[[], list[Any]],
                    rows: Callable[[list[Any]], list[dict]],
                    filters: list[tuple[str, str, Any]], offset: int, limit: int) -> Any:
        """Reply with a page of `rows(read())`: the control store is read off the IO loop
        (its calls block), the rows are made and the reply sent under the node's lock."""
        from ember._core.node.requests import DEFERRED

        def remote() -> None:
            try:
                stored = read()
            except Exception as e:  # noqa: BLE001 - the caller's error
                with self.node.lock:
                    reply(False, e)
                return
            with self.node.lock:
                found = rows(stored)
                if filters:
                    found = [r for r in found if _matches(r, filters)]
                reply(True, {"total": len(found), "rows": found[offset:offset + limit]})

        self.node.cluster.run(remote)
        return DEFERRED

    def _task_page(self, filters: list[tuple[str, str, Any]], offset: int,
                   limit: int) -> dict:
        """Finished tasks (oldest first) then live ones, filtered and cut."""
        done_total, rows = self.task_manager.history.page(filters, offset, limit)
        live = [task_summary(t, self.node.node_id) for t in self.task_manager.tasks.values()]
        if filters:
            live = [r for r in live if _matches(r, filters)]
        start = max(0, offset - done_total)
        rows += live[start:start + max(0, limit - len(rows))]
        return {"total": done_total + len(live), "rows": rows}

    def op_state_summary(self, caller: int, reply: Any, kind: str) -> dict:
        """Counts per name and state (tasks: function name; actors: class name), or for
        objects their count and bytes per state, as Ray's summarize_* report them."""
        if kind in ("tasks", "actors"):
            if kind == "tasks":
                pairs = dict(self.task_manager.history.counts())
                for t in self.task_manager.tasks.values():
                    pairs[(t.name, t.state)] = pairs.get((t.name, t.state), 0) + 1
                label = "func_or_class_name"
            else:
                pairs = {}
                for a in self.actor_manager.listed_actors():
                    key = (a.class_name, a.state)
                    pairs[key] = pairs.get(key, 0) + 1
                label = "class_name"
            summary: dict[str, dict] = {}
            for (name, state), n in pairs.items():
                entry = summary.setdefault(name, {label: name, "state_counts": {}})
                entry["state_counts"][state] = entry["state_counts"].get(state, 0) + n
            return {"summary": summary, "total": sum(pairs.values())}
        if kind == "objects":
            by_state: dict[str, dict] = {}
            for e in self.node.objects.entries.values():
                s = by_state.setdefault("READY" if e.state else "PENDING",
                                        {"count": 0, "total_size_bytes": 0})
                s["count"] += 1
                s["total_size_bytes"] += e.size or 0
            return {"summary": by_state,
                    "total": sum(s["count"] for s in by_state.values())}
        raise ValueError(f"cannot summarize {kind!r}")

    def op_metrics_report(self, caller: int, reply: Any, pid: int, snapshot: list) -> None:
        """A process's user metrics (ember.util.metrics), replacing its last report."""
        if pid not in self.user_metrics and len(self.user_metrics) >= _MAX_METRIC_SOURCES:
            self.user_metrics.pop(next(iter(self.user_metrics)))
        self.user_metrics[pid] = snapshot

    def op_metrics(self, caller: int, reply: Any) -> dict:
        """The node's system metrics and every process's user metrics, for /metrics."""
        live: dict[str, int] = {}
        for t in self.task_manager.tasks.values():
            live[t.state] = live.get(t.state, 0) + 1
        actors: dict[str, int] = {}
        for a in self.actor_manager.actors.values():
            if not a.proxy:
                actors[a.state] = actors.get(a.state, 0) + 1
        return {
            "node_id": self.node.node_id,
            "tasks_live": live,
            "tasks_finished": dict(self.task_manager.task_totals),
            "actors": actors,
            "actors_dead": sum(1 for a in self.actor_manager.actors.values() if a.state == DEAD),
            "store": self.node.store.stats(),
            "resources_total": dict(self.node.scheduler.total(self.node.node_id)),
            "resources_available": dict(self.node.scheduler.available(self.node.node_id)),
            "workers": len(self.node.workers),
            "pid": os.getpid(),
            "user": [m for snap in self.user_metrics.values() for m in snap],
        }


__all__ = ["Introspection"]
