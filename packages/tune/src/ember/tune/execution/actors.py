"""Trial actors: creation with each trial's resources, reuse, and resource accounting.

The controller keeps its own ledger of the resources its actors hold so that it never
asks ember for an actor that cannot be placed (it would wait unscheduled). Idle actors
are cached by resource request and handed to the next trial with the same request.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import ember
from ember.tune.execution.worker import TrialWorker
from ember.tune.resources import PlacementGroupFactory

_EPS = 1e-9


class TrialActor:
    """One live actor process: its handle, the request it holds and its placement group."""

    __slots__ = ("handle", "pgf", "key", "pg", "reusable")

    def __init__(self, handle: Any, pgf: PlacementGroupFactory, pg: Any) -> None:
        self.handle = handle
        self.pgf = pgf
        self.key = pgf.key()
        self.pg = pg
        self.reusable = True


class ActorManager:
    """Creates, caches and kills TrialWorker actors within the cluster's resources."""

    def __init__(self, trainable_ref: Any, reuse: bool, total: dict[str, float]) -> None:
        self._cls = ember.remote(TrialWorker)
        self._trainable_ref = trainable_ref
        self._reuse = reuse
        self.total = {k: v for k, v in total.items()}
        self.used: dict[str, float] = defaultdict(float)
        self._idle: dict[tuple, list[TrialActor]] = defaultdict(list)
        self._live: set[TrialActor] = set()

    # ----- resources ------------------------------------------------------------------
    def fits_cluster(self, pgf: PlacementGroupFactory) -> bool:
        """Could this request ever be placed (on an otherwise empty cluster)?"""
        return all(self.total.get(k, 0.0) + _EPS >= v
                   for k, v in pgf.required_resources.items())

    def _free_after_evicting(self, key: tuple) -> dict[str, float]:
        free = {k: self.total.get(k, 0.0) - self.used.get(k, 0.0) for k in self.total}
        for k, actors in self._idle.items():
            if k == key:
                continue
            for a in actors:
                for r, v in a.pgf.required_resources.items():
                    free[r] = free.get(r, 0.0) + v
        return free

    def can_acquire(self, pgf: PlacementGroupFactory) -> bool:
        key = pgf.key()
        if self._idle.get(key):
            return True
        free = self._free_after_evicting(key)
        return all(free.get(k, 0.0) + _EPS >= v for k, v in pgf.required_resources.items())

    def idle_count(self, pgf: PlacementGroupFactory) -> int:
        return len(self._idle.get(pgf.key(), ()))

    def _fits_now(self, need: dict[str, float]) -> bool:
        return all(self.total.get(k, 0.0) - self.used.get(k, 0.0) + _EPS >= v
                   for k, v in need.items())

    # ----- actors ---------------------------------------------------------------------
    def acquire(self, pgf: PlacementGroupFactory) -> TrialActor | None:
        """An idle actor with this request, or a new one; None if resources are short."""
        key = pgf.key()
        idle = self._idle.get(key)
        if idle:
            return idle.pop()
        need = pgf.required_resources
        if not self._fits_now(need):
            for k in list(self._idle):
                while self._idle[k] and not self._fits_now(need):
                    self.kill(self._idle[k].pop())
            if not self._fits_now(need):
                return None
        actor = self._create(pgf)
        for k, v in need.items():
            self.used[k] += v
        self._live.add(actor)
        return actor

    def _create(self, pgf: PlacementGroupFactory) -> TrialActor:
        pg = None
        if len(pgf.bundles) > 1:
            from ember.util.placement_group import placement_group
            from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            pg = placement_group(pgf.bundles, strategy=pgf.strategy)
            head = pgf.actor_options()
            options: dict[str, Any] = {
                "num_cpus": head.get("num_cpus", 0), "num_gpus": head.get("num_gpus", 0),
                "scheduling_strategy": PlacementGroupSchedulingStrategy(
                    pg, placement_group_bundle_index=0,
                    placement_group_capture_child_tasks=True)}
            if head.get("resources"):
                options["resources"] = head["resources"]
        else:
            options = pgf.actor_options()
        handle = self._cls.options(max_restarts=0, **options).remote(self._trainable_ref)
        return TrialActor(handle, pgf, pg)

    def release(self, actor: TrialActor) -> None:
        """The actor's trial ended (its stop() is queued): keep it for reuse or kill it."""
        if self._reuse and actor.reusable and actor in self._live:
            self._idle[actor.key].append(actor)
        else:
            self.kill(actor)

    def mark_unusable(self, actor: TrialActor) -> None:
        """Its previous trial did not stop cleanly: never hand it out again."""
        actor.reusable = False
        idle = self._idle.get(actor.key)
        if idle and actor in idle:
            idle.remove(actor)
            self.kill(actor)

    def kill(self, actor: TrialActor) -> None:
        if actor not in self._live:
            return
        self._live.discard(actor)
        try:
            ember.kill(actor.handle)
        except Exception:  # noqa: BLE001 - already gone
            pass
        if actor.pg is not None:
            from ember.util.placement_group import remove_placement_group

            try:
                remove_placement_group(actor.pg)
            except Exception:  # noqa: BLE001
                pass
        for k, v in actor.pgf.required_resources.items():
            self.used[k] = max(0.0, self.used[k] - v)

    def kill_all(self) -> None:
        for actor in list(self._live):
            self.kill(actor)
        self._idle.clear()

    def usage_str(self) -> str:
        """'Logical resource usage: 2.0/2 CPUs, 0/0 GPUs' (idle cached actors count as used)."""
        busy = dict(self.used)
        for actors in self._idle.values():
            for a in actors:
                for k, v in a.pgf.required_resources.items():
                    busy[k] = busy.get(k, 0.0) - v
        cpu = f"{max(busy.get('CPU', 0.0), 0.0):g}/{self.total.get('CPU', 0.0):g} CPUs"
        gpu = f"{max(busy.get('GPU', 0.0), 0.0):g}/{self.total.get('GPU', 0.0):g} GPUs"
        return f"Logical resource usage: {cpu}, {gpu}"
