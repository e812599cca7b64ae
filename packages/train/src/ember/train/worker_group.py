"""A group of training workers: one actor per rank, each in its own placement-group bundle."""

from __future__ import annotations

import logging
import time
from typing import Any

import ember
from ember.train._messages import WorkerInfo
from ember.train._worker import TrainWorker
from ember.train.config import ScalingConfig
from ember.util import placement_group, remove_placement_group
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

__all__ = ["WorkerGroup", "feasible_workers"]

logger = logging.getLogger(__name__)

_WorkerActor = ember.remote(TrainWorker)


def feasible_workers(scaling: ScalingConfig, available: dict[str, float]) -> int:
    """How many workers of `scaling`'s shape fit in `available` (at most max_workers)."""
    n = scaling.max_workers
    for key, need in scaling.worker_resources().items():
        if need > 0:
            n = min(n, int(available.get(key, 0.0) / need + 1e-9))
    return n


class WorkerGroup:
    """Workers created together in a placement group, and removed together."""

    def __init__(self, scaling: ScalingConfig, num_workers: int,
                 runtime_env: dict[str, Any] | None, timeout_s: float | None,
                 placement_group_: Any = None, *, own_pg: bool | None = None,
                 bundle_offset: int | None = None, adopt: list[Any] | None = None) -> None:
        """placement_group_: an existing group whose bundles the workers take (a Tune
        trial's: bundles 1..num_workers, left in place on shutdown). adopt: actors already
        running in those bundles (warm standbys) to use as the workers."""
        self.scaling = scaling
        self.runtime_env = runtime_env
        res = scaling.worker_resources()
        self._own_pg = placement_group_ is None if own_pg is None else own_pg
        self.offset = (0 if placement_group_ is None else 1) if bundle_offset is None \
            else bundle_offset
        self.pg = placement_group_ if placement_group_ is not None else placement_group(
            [dict(res) for _ in range(num_workers)], strategy=scaling.placement_strategy)
        self.workers: list[Any] = []
        self.standby: list[Any] = []
        try:
            if placement_group_ is None:
                self._wait_ready(timeout_s)
            if adopt is not None:
                self.workers = list(adopt)
            else:
                self.workers = [self._actor(i, res) for i in range(num_workers)]
            self.infos: list[WorkerInfo] = ember.get([w.info.remote() for w in self.workers])
        except BaseException:
            self.shutdown()
            raise

    def _actor(self, index: int, res: dict[str, float]) -> Any:
        """A worker actor in bundle `index` holding `res` of it."""
        custom = {k: v for k, v in res.items() if k not in ("CPU", "GPU")}
        opts: dict[str, Any] = {"num_cpus": res.get("CPU", 0.0),
                                "num_gpus": res.get("GPU", 0.0), "max_concurrency": 4}
        if custom:
            opts["resources"] = custom
        if self.runtime_env:
            opts["runtime_env"] = self.runtime_env
        cpus = self.scaling.worker_resources().get("CPU", 0.0)
        return _WorkerActor.options(**opts, scheduling_strategy=PlacementGroupSchedulingStrategy(
            self.pg, placement_group_bundle_index=index + self.offset)).remote(cpus)

    def start_standby(self, warm_up: Any) -> None:
        """Start one idle worker per bundle, holding nothing of it, and run `warm_up` in
        each (e.g. import torch): after a failure they replace the workers at once."""
        if self.standby or self.pg is None:
            return
        self.standby = [self._actor(i, {}) for i in range(len(self.workers))]
        for w in self.standby:
            w.execute.remote(warm_up)

    def take_over(self) -> WorkerGroup:
        """A new group of this one's standbys in the same bundles; this group's workers
        are killed (its placement group passes to the new group)."""
        standby, self.standby = self.standby, []
        pg, own = self.pg, self._own_pg
        self._own_pg = False  # the new group removes it
        self.shutdown()
        return WorkerGroup(self.scaling, len(standby), self.runtime_env, None, pg,
                           own_pg=own, bundle_offset=self.offset, adopt=standby)

    def _wait_ready(self, timeout_s: float | None) -> None:
        start = time.monotonic()
        ready = self.pg.ready()
        warned = False
        while True:
            done, _ = ember.wait([ready], timeout=10.0)
            if done:
                ember.get(ready)
                return
            waited = time.monotonic() - start
            if timeout_s is not None and waited >= timeout_s:
                raise TimeoutError(f"The cluster cannot hold {len(self.pg.bundle_specs)} "
                                   f"training workers of {self.scaling.worker_resources()} "
                                   f"(waited {waited:.0f} s).")
            if not warned:
                logger.warning("Waiting for resources for %d training workers of %s; "
                               "available now: %s", len(self.pg.bundle_specs),
                               self.scaling.worker_resources(), ember.available_resources())
                warned = True

    def __len__(self) -> int:
        return len(self.workers)

    def local_ranks(self) -> tuple[list[int], list[int], list[int]]:
        """Local rank, local world size and node rank of each worker (by node, in order)."""
        nodes: list[str] = []
        for info in self.infos:
            if info.node_id not in nodes:
                nodes.append(info.node_id)
        counts = {n: 0 for n in nodes}
        local = []
        for info in self.infos:
            local.append(counts[info.node_id])
            counts[info.node_id] += 1
        sizes = [counts[i.node_id] for i in self.infos]
        return local, sizes, [nodes.index(i.node_id) for i in self.infos]

    def execute(self, fn: Any, *args: Any, **kwargs: Any) -> list[Any]:
        """Run fn(*args) on every worker; the results in rank order."""
        return ember.get([w.execute.remote(fn, *args, **kwargs) for w in self.workers])

    def execute_each(self, fn: Any, args_per_rank: list[tuple]) -> list[Any]:
        """Run fn(*args_per_rank[r]) on worker r, all at once."""
        return ember.get([w.execute.remote(fn, *a) for w, a in
                          zip(self.workers, args_per_rank, strict=True)])

    def shutdown(self) -> None:
        """Kill the workers (and standbys) and free their bundles (idempotent)."""
        for w in self.workers + self.standby:
            try:
                ember.kill(w)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.workers, self.standby = [], []
        if self.pg is not None and self._own_pg:
            try:
                remove_placement_group(self.pg)
            except Exception:  # noqa: BLE001
                pass
        self.pg = None
