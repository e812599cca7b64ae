"""Placement groups: bundles of resources reserved atomically, then used by tasks/actors.

A mixin of NodeManager. A group that cannot be placed now stays PENDING and is retried
whenever resources are freed; one that no alive node set can ever hold waits too (as in
Ray: a node that can hold it may join), shown as INFEASIBLE in its stats, with a warning.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from ember._core.common import messages
from ember._core.node.records import PlacementGroup
from ember._core.node.requests import DEFERRED
from ember.exceptions import (
    InfeasibleResourceError,
    OwnerDiedError,
    RaySystemError,
    TaskPlacementGroupRemoved,
)

if TYPE_CHECKING:
    from ember._core.node.actor_manager import ActorManager
    from ember._core.node.jobs import JobTracker
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.remote_nodes import RemoteNodes

_log = logging.getLogger("ember")
STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class PlacementManager:
    def __init__(self, node: NodeManager) -> None:
        self.node = node
        self.pgs: dict[str, PlacementGroup] = {}
        self.pending_pgs: list[PlacementGroup] = []
        self.pgs_changed: set[str] = set()  # ids whose state the control store has not seen
        # caller -> the ready() objects it made that wait for their group: (group, setter)
        self.ready_refs: dict[int, list[tuple[PlacementGroup, Any]]] = {}

    def connect(
        self,
        *,
        actor_manager: ActorManager,
        jobs: JobTracker,
        remote: RemoteNodes,
    ) -> None:
        """Wire the sibling components this one calls."""
        self.actor_manager = actor_manager
        self.jobs = jobs
        self.remote = remote

    def op_pg_create(self, caller: int, reply: Any, pg_id: str, bundles: list[dict],
                     strategy: str, name: str, lifetime: str | None, soft_target: str = "",
                     selectors: list[dict[str, str]] | None = None) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"Invalid placement group strategy {strategy!r}; use one of "
                             f"{', '.join(STRATEGIES)}.")
        if name and any(p.name == name and p.state != "REMOVED" and not p.held_for
                        for p in self.pgs.values()):
            raise RaySystemError(f"Failed to create placement group: a placement group "
                                 f"named {name!r} already exists.")  # Ray's error type
        pg = PlacementGroup(pg_id, bundles, strategy, name, lifetime)
        pg.soft_target = soft_target
        pg.selectors = [dict(s) for s in selectors or []] if any(selectors or []) else []
        pg.creator = caller
        pg.job = "" if lifetime == "detached" else self.jobs.job_of(caller)
        if not self._try_place(pg, first=True):
            pg.seen = self._free_view()
            self.pending_pgs.append(pg)
        self.pgs[pg_id] = pg
        self._pg_changed(pg)

    def _try_place(self, pg: PlacementGroup, first: bool = False) -> bool:
        """Reserve the group's bundles if it fits now; True once placed or being reserved.

        A group no set of alive nodes can ever hold waits (a node that can may join):
        it is INFEASIBLE in its stats, and its creator is warned once.
        """
        from ember import _native

        pg.tries += 1
        if pg.state == "RESCHEDULING" and pg.nodes:
            return self._replace_lost_bundles(pg)
        try:
            if pg.selectors or pg.soft_target or pg.strategy != "STRICT_SPREAD":
                nodes = self._place_by_score(pg)
            else:
                nodes = self.node.scheduler.create_placement_group(pg.pg_id, pg.bundles,
                                                                   pg.strategy)
        except _native.InfeasibleError as e:
            if not pg.infeasible:
                pg.infeasible = True
                msg = (f"Placement group {pg.name or pg.pg_id} ({pg.strategy}, bundles "
                       f"{pg.bundles}) cannot be placed on the alive nodes: {e}. It stays "
                       "pending until nodes that can hold it join.")
                _log.warning("%s", msg)
                w = self.node.workers.get(pg.creator) if pg.creator is not None else None
                if w is not None and w.state == "driver":
                    w.send(messages.Warn(msg))
            pg.why_pending = f"no set of nodes can hold it: {e}"
            return False
        pg.infeasible = False
        if not nodes:
            pg.why_pending = "waiting for resources to be freed"
            return False
        if all(n == self.node.node_id for n in nodes):
            self._pg_created(pg, nodes)
        else:
            self._reserve_on_peers(pg, list(nodes))
        return True

    def _place_by_score(self, pg: PlacementGroup) -> list[str]:
        """Reserve the group as Ray's bundle policies place it (scarce bundles first, each
        on the node it leaves the most room on; label selectors and a soft target node
        honoured): its nodes, or [] if it does not fit now. InfeasibleError, as Ray judges
        it, if a bundle fits no node (STRICT_PACK: all of them on no node). STRICT_SPREAD
        groups without label selectors go to the native matching instead."""
        from ember import _native
        from ember._core.node.bundle_choice import choose_nodes, why_never

        sched = self.node.scheduler
        names = sched.nodes()
        labels = {self.node.node_id: self.node.labels}
        labels.update({p.node_id: p.labels for p in self.remote.peers.values()})
        args = (pg.bundles, pg.strategy)
        kwargs = {"labels": labels, "selectors": pg.selectors, "soft_target": pg.soft_target,
                  "local": self.node.node_id}
        why = why_never(*args, {n: sched.total(n) for n in names}, labels, pg.selectors)
        if why:
            raise _native.InfeasibleError(why)
        nodes = choose_nodes(*args, {n: sched.available(n) for n in names}, **kwargs)
        if nodes is None or not sched.reserve_placement_group(pg.pg_id, nodes, pg.bundles):
            return []
        return nodes

    def _replace_lost_bundles(self, pg: PlacementGroup) -> bool:
        """Place only the bundles that were on a dead node; the others stay where they are."""
        nodes = self.node.scheduler.replace_lost_bundles(pg.pg_id, pg.strategy)
        if not nodes:
            pg.why_pending = "waiting for a node to hold the bundles of a dead node"
            return False
        moved = {n for n, old in zip(nodes, pg.nodes, strict=True) if n != old}
        if moved <= {self.node.node_id}:
            self._pg_created(pg, nodes)
        else:
            self._reserve_on_peers(pg, nodes, moved - {self.node.node_id})
        return True

    def _pg_created(self, pg: PlacementGroup, nodes: list[str]) -> None:
        if not pg.latency_ms:
            pg.latency_ms = max((time.monotonic() - pg.submitted) * 1000.0, 0.001)
        pg.state = "CREATED"
        pg.nodes = list(nodes)
        pg.why_pending = ""
        self._take_gpus(pg)
        self._pg_changed(pg)
        waiters, pg.waiters = pg.waiters, []
        for cb in waiters:
            cb()

    def _pg_changed(self, pg: PlacementGroup) -> None:
        """Note a group whose state the control store should learn (sent with heartbeats)."""
        if not pg.held_for:
            self.pgs_changed.add(pg.pg_id)

    def retry_pending_placement_groups(self) -> None:
        if not self.pending_pgs:
            return
        now = time.monotonic()
        # A group that failed against the same free resources is not tried again (Ray
        # retries a group when resources change, not on every event).
        view = self._free_view()
        still = []
        for pg in self.pending_pgs:
            if pg.state not in ("PENDING", "RESCHEDULING"):
                continue
            if pg.reserving or now < pg.not_before or pg.seen == view:
                still.append(pg)
            elif not self._try_place(pg):
                pg.seen = view
                still.append(pg)
        self.pending_pgs = still

    def _free_view(self) -> tuple:
        """What every node has free now, comparable between attempts."""
        sched = self.node.scheduler
        return tuple((n, tuple(sorted(sched.available(n).items()))) for n in sched.nodes())

    # -- groups that span nodes ---------------------------------------------------------

    def _reserve_on_peers(self, pg: PlacementGroup, nodes: list[str],
                          ask_nodes: set[str] | None = None) -> None:
        """Phase one: ask each peer (or those in `ask_nodes`) to hold its bundles; commit
        when all agree."""
        pg.reserving = True
        pg.attempt += 1
        cluster = self.node.cluster
        asks = [(node, self.remote.peers[node].address) for node in
                sorted(ask_nodes if ask_nodes is not None else set(nodes) - {self.node.node_id})]
        bundles, strategy, name, attempt = pg.bundles, pg.strategy, pg.name, pg.attempt

        def ask(node: str, address: str, answers: dict[str, str]) -> None:
            answers[node] = cluster.reserve_bundles(address, pg.pg_id, bundles,
                                                    [n == node for n in nodes], strategy,
                                                    name, attempt)

        def run() -> None:
            answers: dict[str, str] = {}
            threads = [threading.Thread(target=ask, args=(node, address, answers), daemon=True,
                                        name="ember-reserve") for node, address in asks]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            with self.node.lock:
                self._pg_reservations_done(pg, nodes, answers)

        cluster.run(run)

    def _pg_reservations_done(self, pg: PlacementGroup, nodes: list[str],
                              answers: dict[str, str]) -> None:
        """Phase two: commit the group, or give back what was held and retry later."""
        pg.reserving = False
        refused = {n: why for n, why in answers.items() if why}
        refused.update({n: "the node died" for n in nodes
                        if n != self.node.node_id and n not in self.remote.peers})
        if not refused and pg.state in ("PENDING", "RESCHEDULING"):
            self._pg_created(pg, nodes)
            self.node.on_resources_freed()
            return
        # Give back everything, survivors of a partial placement included, and place the
        # group from scratch next time.
        for node in (set(nodes) | set(pg.nodes)) - {self.node.node_id}:
            self._return_bundles_on(node, pg)
        if pg.state == "REMOVED":
            return
        pg.nodes = []
        self._forget_group(pg.pg_id)
        self._give_back_gpus(pg)
        pg.why_pending = "; ".join(f"node {n} refused its bundles ({w})"
                                   for n, w in refused.items())
        pg.seen = None
        pg.not_before = time.monotonic() + 0.2  # the peers' reports need to catch up
        self.pending_pgs.append(pg)

    def _forget_group(self, pg_id: str) -> None:
        try:
            self.node.scheduler.remove_placement_group(pg_id)
        except KeyError:
            pass

    def _return_bundles_on(self, node: str, pg: PlacementGroup) -> None:
        peer = self.remote.peers.get(node)
        if peer is not None:
            self.node.cluster.return_bundles(peer.address, pg.pg_id, pg.attempt)

    def reserve_bundles(self, pg_id: str, bundles: list[dict], here: list[bool],
                        owner_node: str, strategy: str, name: str, attempt: int) -> None:
        """A peer's request to hold some bundles of its group; raises if they do not fit."""
        with self.node.lock:
            held = self.pgs.get(pg_id)
            if held is not None:
                if held.attempt >= attempt:
                    return
                self._drop_held_group(pg_id)  # an earlier placement, not yet returned
            nodes = [self.node.node_id if mine else "" for mine in here]
            if not self.node.scheduler.reserve_placement_group(pg_id, nodes, bundles):
                raise RuntimeError(f"node {self.node.node_id} has no room for its bundles now")
            pg = PlacementGroup(pg_id, bundles, strategy, name, None)
            pg.held_for = owner_node
            pg.attempt = attempt
            self.pgs[pg_id] = pg
            self._pg_created(pg, nodes)

    def return_bundles(self, pg_id: str, attempt: int) -> None:
        """The owner removed (or rolled back) a group whose bundles this node holds."""
        with self.node.lock:
            held = self.pgs.get(pg_id)
            if held is None or held.attempt > attempt:
                return  # a later placement of the group: not this return's business
            if held.state == "CREATED":
                self._kill_tasks_in(pg_id)
            if self._drop_held_group(pg_id):
                self.node.on_resources_freed()

    def pgs_lost_with(self, node: str) -> None:
        """A peer died: groups it held bundles of are placed again; groups it owned go."""
        for pg in list(self.pgs.values()):
            if pg.held_for == node:
                self._drop_held_group(pg.pg_id)
            elif (not pg.held_for and node in pg.nodes
                  and pg.state in ("CREATED", "RESCHEDULING")):
                pg.state = "RESCHEDULING"  # pg.nodes keeps the old placement to repair
                pg.why_pending = f"node {node} holding some of its bundles died"
                self._pg_changed(pg)
                if pg not in self.pending_pgs:
                    self.pending_pgs.append(pg)

    def _kill_tasks_in(self, pg_id: str) -> None:
        """The group goes: tasks running here in its bundles are killed, as Ray destroys
        their workers (they fail with WorkerCrashedError, or retry)."""
        for task in list(self.node.task_manager.tasks.values()):
            pg = task.spec.pg
            if pg and pg[0] == pg_id and task.worker is not None and task.actor is None:
                task.worker.kill()

    def _drop_held_group(self, pg_id: str) -> bool:
        pg = self.pgs.get(pg_id)
        if pg is None or not pg.held_for:
            return False
        del self.pgs[pg_id]
        self._forget_group(pg_id)
        self._give_back_gpus(pg)
        pg.state = "REMOVED"
        return True

    def op_pg_wait(self, caller: int, reply: Any, pg_id: str, timeout: float | None) -> Any:
        pg = self.pgs.get(pg_id)
        if pg is None or pg.state == "REMOVED":
            raise ValueError(f"Placement group {pg_id} does not exist or was removed.")
        if pg.state == "CREATED":
            return True
        if timeout == 0:
            return False
        state = {"done": False, "timer": None}

        def done(ok: bool) -> None:
            if state["done"]:
                return
            state["done"] = True
            if state["timer"] is not None:
                state["timer"].cancelled = True
            reply(True, ok)

        pg.waiters.append(lambda: done(pg.state == "CREATED"))
        if timeout is not None:
            state["timer"] = self.node.add_timer(timeout, lambda: done(False))
        return DEFERRED

    def op_pg_ready_ref(self, caller: int, reply: Any, pg_id: str,
                        value: bytes | None = None) -> bytes:
        """An object that becomes ready once the group is placed: `value` (the caller's
        serialized PlacementGroup handle, as Ray's ready() gives), or True."""
        from ember._core.common import ids, serialization

        pg = self.pgs.get(pg_id)
        if pg is None:
            raise ValueError(f"Placement group {pg_id} does not exist.")
        oid = ids.new_put_id()
        self.node.hold(caller, oid)

        def set_ready() -> None:
            waiting = self.ready_refs.get(caller, [])
            if entry in waiting:
                waiting.remove(entry)
                if not waiting:
                    del self.ready_refs[caller]
            if pg.state == "CREATED":
                data = value or serialization.serialize(True).to_bytes()
            else:
                err = TaskPlacementGroupRemoved(
                    f"Placement group {pg_id} was removed before it was placed.")
                data = serialization.serialize_error(err).to_bytes()
            self.node.objects.set_inline(oid, data, ())

        def owner_died() -> None:
            pg.waiters.remove(set_ready)
            err = OwnerDiedError(oid.hex(), f"The worker that created {oid.hex()} "
                                 "(placement group ready()) died before the group was placed.")
            self.node.objects.set_inline(oid, serialization.serialize_error(err).to_bytes(), ())

        entry = (pg, owner_died)
        if pg.state == "PENDING":
            pg.waiters.append(set_ready)
            self.ready_refs.setdefault(caller, []).append(entry)
        else:
            set_ready()
        return oid

    def owner_died(self, caller: int) -> None:
        """A worker or driver died: the ready() objects it made for groups not placed yet
        fail with OwnerDiedError, as in Ray (it owned them)."""
        for _pg, fail in self.ready_refs.pop(caller, []):
            fail()

    def op_pg_remove(self, caller: int, reply: Any, pg_id: str) -> None:
        pg = self.pgs.get(pg_id)
        if pg is None or pg.state == "REMOVED":
            return
        for actor in list(self.actor_manager.actors.values()):
            if actor.pg is not None and actor.pg[0] == pg_id:
                actor.no_restart = True
                self.actor_manager.actor_dead(
                    actor, "The actor died because its placement group was removed.")
        self._kill_tasks_in(pg_id)
        self._forget_group(pg_id)  # also when reserving: the answers give back the rest
        self._give_back_gpus(pg)
        for node in set(pg.nodes) - {self.node.node_id}:
            self._return_bundles_on(node, pg)
        pg.state = "REMOVED"
        self._pg_changed(pg)
        waiters, pg.waiters = pg.waiters, []
        for cb in waiters:
            cb()
        self.node.on_resources_freed()

    def creator_gone(self, caller: int) -> None:
        """The process of a detached actor ended (it died, was killed or restarts): the
        groups it created go, unless detached, as in Ray (a group lives as long as its
        creator's job, and a detached actor's work belongs to no job)."""
        for pg in list(self.pgs.values()):
            if (pg.creator == caller and not pg.held_for and pg.lifetime != "detached"
                    and pg.state != "REMOVED"):
                self.op_pg_remove(caller, None, pg.pg_id)

    def op_pg_table(self, caller: int, reply: Any, pg_id: str | None) -> Any:
        if pg_id is not None:
            pg = self.pgs.get(pg_id)
            return self.pg_summary(pg) if pg is not None else {}
        return {p.pg_id: self.pg_summary(p) for p in self.pgs.values() if not p.held_for}

    def pg_summary(self, pg: PlacementGroup) -> dict:
        return {
            "placement_group_id": pg.pg_id, "name": pg.name, "strategy": pg.strategy,
            "state": pg.state, "bundles": {i: dict(b) for i, b in enumerate(pg.bundles)},
            "bundles_to_node_id": {i: pg.nodes[i] if i < len(pg.nodes) else ""
                                   for i in range(len(pg.bundles))},
            "stats": {"scheduling_state": self._scheduling_state(pg),
                      "scheduling_attempt": pg.tries,
                      "end_to_end_creation_latency_ms": round(pg.latency_ms, 3),
                      "scheduling_latency_ms": round(pg.latency_ms, 3),
                      "highest_retry_delay_ms": 0.0,
                      "pending_reason": pg.why_pending},
        }

    @staticmethod
    def _scheduling_state(pg: PlacementGroup) -> str:
        """Ray's stats.scheduling_state names."""
        if pg.state == "CREATED":
            return "FINISHED"
        if pg.state == "REMOVED":
            return "REMOVED"
        if pg.infeasible:
            return "INFEASIBLE"
        if pg.reserving:
            return "SCHEDULING_STARTED"
        return "NO_RESOURCES" if pg.tries else "QUEUED"

    # -- resources held in bundles --------------------------------------------------------

    def acquire_bundle(self, pg: tuple, request: dict) -> str:
        """Take `request` from the group's bundle (index -1: any bundle that fits): the
        bundle's node, or "" if it does not fit now."""
        p = self.pgs.get(pg[0])
        if pg[1] >= 0 or p is None:
            node = self.node.scheduler.acquire_bundle(pg[0], pg[1], request)
        else:
            node = self._acquire_any_bundle(p, request)
        if node and p is not None:
            self._note_use(p, pg[1], request, 1)
        return node

    def _acquire_any_bundle(self, p: PlacementGroup, request: dict) -> str:
        """For index -1: the bundle with the fewest kinds of resource the work does not
        ask for, so CPU-only work leaves the GPU bundles to work that needs GPUs (as
        Ray's per-node pool of the group's resources would)."""
        from ember import _native

        sched = self.node.scheduler
        order = sorted(range(len(p.bundles)),
                       key=lambda i: (sum(1 for k in p.bundles[i] if k not in request), i))
        feasible = False
        for i in order:
            try:
                node = sched.acquire_bundle(p.pg_id, i, request)
            except _native.InfeasibleError:
                continue  # too small a bundle for it
            feasible = True
            if node:
                p.any_taken.append((i, dict(request)))
                return node
        if not feasible:
            return sched.acquire_bundle(p.pg_id, -1, request)  # raises, naming the group
        return ""

    @staticmethod
    def _note_use(p: PlacementGroup, index: int, request: dict, sign: int) -> None:
        used = p.used.setdefault(index, {})
        for k, v in [*request.items(), ("bundle", 0.001)]:
            used[k] = max(0.0, used.get(k, 0.0) + sign * v)

    def bundle_resources(self, available: bool) -> dict[str, float]:
        """Ray's per-group resources of the groups placed from here, as
        `ember.cluster_resources()` (or, with `available`, `available_resources()`) shows
        them: `<resource>_group_<id>` and `<resource>_group_<index>_<id>` for each bundle's
        resources, and `bundle_group_…` (1000 a bundle; work in the group holds 0.001)."""
        out: dict[str, float] = {}

        def add(key: str, value: float) -> None:
            out[key] = out.get(key, 0.0) + value

        for p in self.pgs.values():
            if p.held_for or p.state not in ("CREATED", "RESCHEDULING"):
                continue
            for i, bundle in enumerate(p.bundles):
                for k, v in [*bundle.items(), ("bundle", 1000.0)]:
                    add(f"{k}_group_{p.pg_id}", v)
                    add(f"{k}_group_{i}_{p.pg_id}", v)
            if available:
                for i, used in p.used.items():
                    for k, v in used.items():
                        add(f"{k}_group_{p.pg_id}", -v)
                        if i >= 0:
                            add(f"{k}_group_{i}_{p.pg_id}", -v)
        return {k: max(0.0, round(v, 4)) for k, v in out.items()}

    # -- GPU ids: each bundle holds its own ------------------------------------------------

    def _take_gpus(self, pg: PlacementGroup) -> None:
        """Give each bundle placed on this node the GPU ids it reserves (as Ray does): work
        in one group never sees another group's GPUs."""
        for i, node in enumerate(pg.nodes):
            gpus = pg.bundles[i].get("GPU", 0.0) if i < len(pg.bundles) else 0.0
            if node == self.node.node_id and gpus and i not in pg.gpu_pools:
                pool = self.node.gpus.take(gpus)
                if pool is not None:
                    pg.gpu_pools[i] = pool

    def _give_back_gpus(self, pg: PlacementGroup) -> None:
        for pool in pg.gpu_pools.values():
            self.node.gpus.give_back(pool)
        pg.gpu_pools = {}

    def allocate_gpus(self, pg: tuple | None, amount: float) -> list[int]:
        """GPU ids for work asking for `amount` GPUs: from its bundle's ids when it runs in
        a placement group (index -1: any bundle's), else from the node's."""
        p = self.pgs.get(pg[0]) if pg is not None else None
        if pg is not None and p is not None and p.gpu_pools:
            for i in ([pg[1]] if pg[1] >= 0 else sorted(p.gpu_pools)):
                pool = p.gpu_pools.get(i)
                ids = pool.allocate(amount) if pool is not None else []
                if ids:
                    return ids
        return self.node.gpus.allocate(amount)

    def release_gpus(self, pg: tuple | None, ids: list[int], amount: float) -> None:
        """Give GPU ids back to the pool `allocate_gpus` took them from."""
        p = self.pgs.get(pg[0]) if pg is not None else None
        if p is not None:
            for pool in p.gpu_pools.values():
                if pool.owns(ids, amount):
                    pool.release(ids, amount)
                    return
        self.node.gpus.release(ids, amount)

    def check_bundle_request(self, pg: tuple, request: dict, name: str = "the task") -> None:
        pg_id, index = pg
        p = self.pgs.get(pg_id)
        if p is None or p.state == "REMOVED":
            raise ValueError(f"Placement group {pg_id} does not exist or was removed.")
        if index >= len(p.bundles) or index < -1:
            raise ValueError(f"The placement group bundle index {index} is invalid: the group "
                             f"has {len(p.bundles)} bundles (-1 means any of them).")
        if p.held_for:  # a group another node owns: only the bundles held here serve
            here = [i for i, n in enumerate(p.nodes) if n == self.node.node_id]
            if index != -1 and index not in here:
                raise NotImplementedError(
                    f"Bundle {index} of placement group {pg_id} is on another node; work "
                    f"submitted from node {self.node.node_id} can use only the bundles held here "
                    f"({here}).")
            bundles = [p.bundles[i] for i in here] if index == -1 else [p.bundles[index]]
        else:
            bundles = p.bundles if index == -1 else [p.bundles[index]]
        for b in bundles:
            if all(b.get(k, 0) >= v for k, v in request.items() if v > 0):
                return
        shown = {k: int(v) if float(v).is_integer() else v for k, v in request.items()}
        raise InfeasibleResourceError(
            f"Cannot schedule {name} with the placement group because the resource request "
            f"{shown} cannot fit into any bundles for the placement group, {bundles}. (A "
            f"task or actor in placement group {pg_id} uses only its bundles' resources.)")

    def release_bundle(self, pg: tuple, request: dict) -> None:
        """Give a finished task's or actor's share back to its bundle, if the group lives."""
        p = self.pgs.get(pg[0])
        if p is not None and p.state in ("CREATED", "RESCHEDULING"):
            self._note_use(p, pg[1], request, -1)
            index = pg[1]
            if index < 0:  # the bundle the work was given (any one with the same request)
                for n, (i, taken) in enumerate(p.any_taken):
                    if taken == request:
                        index = i
                        del p.any_taken[n]
                        break
            try:
                self.node.scheduler.release_bundle(pg[0], index, request)
            except KeyError:
                pass  # rolled back while being placed again

    def pg_ready_for(self, pg: tuple | None) -> bool:
        if pg is None:
            return True
        p = self.pgs.get(pg[0])
        return p is not None and p.state == "CREATED"
