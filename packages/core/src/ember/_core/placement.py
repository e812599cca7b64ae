"""Placement groups: bundles of resources reserved atomically, then used by tasks/actors.

A mixin of NodeManager. A group that cannot be placed now stays PENDING and is retried
whenever resources are freed; one that can never be placed is refused at creation.
"""

from __future__ import annotations

from typing import Any

from ember._core.records import PlacementGroup
from ember.exceptions import InfeasibleResourceError

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class PlacementMixin:
    def _init_placement(self) -> None:
        self.pgs: dict[str, PlacementGroup] = {}
        self.pending_pgs: list[PlacementGroup] = []

    def op_pg_create(self, caller: int, reply: Any, pg_id: str, bundles: list[dict],
                     strategy: str, name: str, lifetime: str | None) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"Invalid placement group strategy {strategy!r}; use one of "
                             f"{', '.join(STRATEGIES)}.")
        if name and any(p.name == name and p.state != "REMOVED" for p in self.pgs.values()):
            raise ValueError(f"A placement group named {name!r} already exists.")
        pg = PlacementGroup(pg_id, bundles, strategy, name, lifetime)
        from ember import _native

        try:
            nodes = self.scheduler.create_placement_group(pg_id, bundles, strategy)
        except _native.InfeasibleError as e:
            raise InfeasibleResourceError(
                f"Placement group {name or pg_id} can never be placed: {e}") from None
        if nodes and any(n != self.node_id for n in nodes):
            self.scheduler.remove_placement_group(pg_id)
            raise NotImplementedError(
                f"Placement group {name or pg_id} would need bundles on other nodes; "
                "placement groups are reserved on the driver's node in this release.")
        self.pgs[pg_id] = pg
        if nodes:
            self._pg_created(pg, nodes)
        else:
            self.pending_pgs.append(pg)

    def _pg_created(self, pg: PlacementGroup, nodes: list[str]) -> None:
        pg.state = "CREATED"
        pg.nodes = list(nodes)
        waiters, pg.waiters = pg.waiters, []
        for cb in waiters:
            cb()

    def _retry_pending_placement_groups(self) -> None:
        if not self.pending_pgs:
            return
        still = []
        for pg in self.pending_pgs:
            if pg.state != "PENDING":
                continue
            nodes = self.scheduler.create_placement_group(pg.pg_id, pg.bundles, pg.strategy)
            if nodes and any(n != self.node_id for n in nodes):
                self.scheduler.remove_placement_group(pg.pg_id)
                still.append(pg)
            elif nodes:
                self._pg_created(pg, nodes)
            else:
                still.append(pg)
        self.pending_pgs = still

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
            state["timer"] = self.add_timer(timeout, lambda: done(False))
        from ember._core.node_manager import DEFERRED

        return DEFERRED

    def op_pg_ready_ref(self, caller: int, reply: Any, pg_id: str) -> bytes:
        """An object that becomes ready (True) once the group is placed."""
        from ember._core import ids, serialization

        pg = self.pgs.get(pg_id)
        if pg is None:
            raise ValueError(f"Placement group {pg_id} does not exist.")
        oid = ids.new_put_id()
        self._hold(caller, oid)

        def set_ready() -> None:
            if pg.state == "CREATED":
                data = serialization.serialize(True).to_bytes()
            else:
                err = ValueError(f"Placement group {pg_id} was removed before it was placed.")
                data = serialization.serialize_error(err).to_bytes()
            self.objects.set_inline(oid, data, ())

        if pg.state == "PENDING":
            pg.waiters.append(set_ready)
        else:
            set_ready()
        return oid

    def op_pg_remove(self, caller: int, reply: Any, pg_id: str) -> None:
        pg = self.pgs.get(pg_id)
        if pg is None or pg.state == "REMOVED":
            return
        for actor in list(self.actors.values()):
            if actor.pg is not None and actor.pg[0] == pg_id:
                actor.no_restart = True
                self._actor_dead(actor, "The actor's placement group was removed.")
        if pg.state == "CREATED":
            self.scheduler.remove_placement_group(pg_id)
        pg.state = "REMOVED"
        waiters, pg.waiters = pg.waiters, []
        for cb in waiters:
            cb()
        self.on_resources_freed()

    def op_pg_table(self, caller: int, reply: Any, pg_id: str | None) -> Any:
        if pg_id is not None:
            pg = self.pgs.get(pg_id)
            return self._pg_summary(pg) if pg is not None else {}
        return {p.pg_id: self._pg_summary(p) for p in self.pgs.values()}

    def _pg_summary(self, pg: PlacementGroup) -> dict:
        return {
            "placement_group_id": pg.pg_id, "name": pg.name, "strategy": pg.strategy,
            "state": pg.state, "bundles": {i: dict(b) for i, b in enumerate(pg.bundles)},
            "bundles_to_node_id": {i: n for i, n in enumerate(pg.nodes)},
            "stats": {"scheduling_state": "FINISHED" if pg.state == "CREATED" else pg.state},
        }

    def _check_bundle_request(self, pg: tuple, request: dict) -> None:
        pg_id, index = pg
        p = self.pgs.get(pg_id)
        if p is None or p.state == "REMOVED":
            raise ValueError(f"Placement group {pg_id} does not exist or was removed.")
        if index >= len(p.bundles) or index < -1:
            raise ValueError(f"placement_group_bundle_index {index} is out of range: the "
                             f"group has {len(p.bundles)} bundles.")
        bundles = p.bundles if index == -1 else [p.bundles[index]]
        for b in bundles:
            if all(b.get(k, 0) >= v for k, v in request.items() if v > 0):
                return
        raise InfeasibleResourceError(
            f"The request {request} does not fit in any bundle of placement group {pg_id} "
            f"({bundles}); a task in a placement group uses only its bundles' resources.")

    def _pg_ready_for(self, pg: tuple | None) -> bool:
        if pg is None:
            return True
        p = self.pgs.get(pg[0])
        return p is not None and p.state == "CREATED"
