"""Map operators: a fused chain of stages run by ember tasks or by an actor pool.

Inputs are bundled until they hold `min_rows_per_bundle` rows (map_batches' batch
size), then one task (or actor call) processes a bundle. Outputs are emitted in input
order unless the execution options say otherwise. The operator reports the bytes its
in-flight work pins (inputs) and is expected to produce (from the output/input ratio
seen so far), which the executor's backpressure uses.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import ember
from ember.data._logical import Compute
from ember.data._metadata import RefBundle
from ember.data._physical import PhysicalOperator
from ember.data._tasks import MapWorker, map_task
from ember.data._transforms import Stage

__all__ = ["ActorPoolMapOperator", "MapOperator", "TaskPoolMapOperator"]

_REMOTE_KEYS = {"num_cpus", "num_gpus", "memory", "resources", "scheduling_strategy",
                "max_retries", "retry_exceptions", "runtime_env", "accelerator_type",
                "label_selector", "max_restarts", "max_task_retries", "max_concurrency"}


class _Task:
    __slots__ = ("seq", "bundle", "in_bytes", "est_in", "est_bytes", "actor")

    def __init__(self, seq: int, bundle: RefBundle, in_bytes: int, est_in: int,
                 est_bytes: int, actor: Any = None) -> None:
        self.seq, self.bundle, self.in_bytes, self.est_bytes = seq, bundle, in_bytes, est_bytes
        self.est_in = est_in
        self.actor = actor


def _is_read_bundle(bundle: RefBundle) -> bool:
    return bool(bundle.extra.get("read_tasks"))


class MapOperator(PhysicalOperator):
    """Shared by the task-pool and actor-pool variants."""

    def __init__(self, name: str, input_op: PhysicalOperator, stages: list[Stage],
                 compute: Compute, remote_args: dict, min_rows_per_bundle: int | None) -> None:
        super().__init__(name, [input_op])
        self.stages = stages
        self.compute = compute
        self.remote_args = {k: v for k, v in remote_args.items() if v is not None}
        bad = set(self.remote_args) - _REMOTE_KEYS
        if bad:
            raise ValueError(f"Unsupported remote options for {name}: {sorted(bad)}.")
        self.min_rows = min_rows_per_bundle
        self._queue: deque[RefBundle] = deque()
        self._queued_rows = 0
        self._queued_bytes = 0
        self._active: dict[Any, _Task] = {}
        self._seq = 0
        self._next_emit = 0
        self._finished: dict[int, RefBundle] = {}
        self._in_est_total = 0
        self._out_total = 0
        self.max_concurrency = 1
        self._expected_inputs: int | None = None

    # -- inputs ----------------------------------------------------------------------
    def _rows(self, bundle: RefBundle) -> int:
        """Rows for bundling; a read task of unknown size counts as a full bundle."""
        if _is_read_bundle(bundle) and any(m.num_rows is None for _, m in bundle.blocks):
            return self.min_rows or 1
        return sum(m.num_rows or 0 for _, m in bundle.blocks)

    def add_input(self, bundle: RefBundle, index: int) -> None:
        if self.stopped:
            return
        self._queue.append(bundle)
        self._queued_rows += self._rows(bundle)
        self._queued_bytes += self._store_bytes(bundle)

    @staticmethod
    def _store_bytes(bundle: RefBundle) -> int:
        return 0 if _is_read_bundle(bundle) else bundle.size_bytes()

    @staticmethod
    def _est_input_bytes(bundle: RefBundle) -> int:
        return sum((m.size_bytes or 0) for _, m in bundle.blocks)

    def _bundle_ready(self) -> bool:
        if not self._queue:
            return False
        if self.min_rows is None:
            return True
        return self._queued_rows >= self.min_rows or self.all_inputs_done()

    def _take_bundle(self) -> RefBundle:
        first = self._queue.popleft()
        self._queued_bytes -= self._store_bytes(first)
        rows = self._rows(first)
        self._queued_rows -= rows
        if self.min_rows is None:
            return first
        blocks = list(first.blocks)
        while self._queue and rows < self.min_rows:
            nxt = self._queue.popleft()
            self._queued_bytes -= self._store_bytes(nxt)
            n = self._rows(nxt)
            self._queued_rows -= n
            rows += n
            blocks.extend(nxt.blocks)
        return RefBundle(blocks, first.owns_blocks, first.index, dict(first.extra))

    # -- dispatch --------------------------------------------------------------------
    def _ratio(self) -> float:
        if self._in_est_total > 0 and self.stats.tasks_done:
            return self._out_total / self._in_est_total
        return 1.0

    def next_task_estimate(self) -> int:
        if not self._queue:
            return 0
        return int(self._est_input_bytes(self._queue[0]) * self._ratio())

    def _launch(self, bundle: RefBundle) -> tuple[Any, Any]:
        raise NotImplementedError

    def _has_slot(self) -> bool:
        return len(self._active) < self.max_concurrency

    def can_dispatch(self) -> bool:
        return not self.stopped and self._has_slot() and self._bundle_ready()

    def dispatch(self) -> None:
        self.stats.mark_started()
        bundle = self._take_bundle()
        est_in = self._est_input_bytes(bundle)
        ref, actor = self._launch(bundle)
        task = _Task(self._seq, bundle, self._store_bytes(bundle), est_in,
                     max(0, int(est_in * self._ratio())), actor)
        self._active[ref] = task
        self._seq += 1
        self.stats.tasks_submitted += 1

    # -- completion ------------------------------------------------------------------
    def waitables(self) -> list[Any]:
        return list(self._active)

    def on_ready(self, ref: Any) -> None:
        task = self._active.pop(ref)
        self._task_finished(task)
        pairs, tstats = ember.get(ref)
        out = RefBundle(pairs, True, task.seq)
        self.stats.add_task(tstats.wall_s, tstats.cpu_s, tstats.udf_s)
        self._in_est_total += task.est_in
        self._out_total += out.size_bytes()
        if self.ctx is not None and not self.ctx.execution_options.preserve_order:
            self._emit(out)
            return
        self._finished[task.seq] = out
        while self._next_emit in self._finished:
            self._emit(self._finished.pop(self._next_emit))
            self._next_emit += 1

    def _task_finished(self, task: _Task) -> None:
        """Hook for the actor pool (frees the actor's slot)."""

    def finished_producing(self) -> bool:
        if self.stopped:
            return True
        return self.all_inputs_done() and not self._queue and not self._active \
            and not self._finished

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._queued_rows = self._queued_bytes = 0
        self._active.clear()
        self._finished.clear()

    # -- accounting ------------------------------------------------------------------
    def running_bytes(self) -> int:
        held = sum(t.in_bytes + t.est_bytes for t in self._active.values())
        return held + sum(b.size_bytes() for b in self._finished.values())

    def queued_input_bytes(self) -> int:
        return self._queued_bytes

    def num_queued(self) -> int:
        return len(self._queue)

    def num_active(self) -> int:
        return len(self._active)

    def total_tasks_hint(self) -> int | None:
        return self._expected_inputs


class TaskPoolMapOperator(MapOperator):
    def start(self, ctx: Any, cluster_cpus: float, cluster_gpus: float) -> None:
        super().start(ctx, cluster_cpus, cluster_gpus)
        self._stages_ref = ember.put(self.stages)
        task_args = {k: v for k, v in self.remote_args.items() if k != "max_concurrency"}
        self._fn = map_task.options(**task_args) if task_args else map_task
        if self.compute.max_size:
            self.max_concurrency = self.compute.max_size
        else:
            self.max_concurrency = _slots(self.remote_args, cluster_cpus, cluster_gpus) + 1

    def _launch(self, bundle: RefBundle) -> tuple[Any, Any]:
        return self._fn.remote(self._stages_ref, self.ctx, self._seq, *bundle.refs()), None


def _slots(remote_args: dict, cpus: float, gpus: float) -> int:
    num_gpus = remote_args.get("num_gpus") or 0
    if num_gpus:
        return max(1, int(gpus // num_gpus)) if gpus else 1
    num_cpus = remote_args.get("num_cpus", 1)
    if not num_cpus:
        return max(1, int(cpus) * 2)
    return max(1, int(cpus // num_cpus))


class ActorPoolMapOperator(MapOperator):
    """An autoscaling pool of MapWorker actors (min..max), each with a few calls queued."""

    def start(self, ctx: Any, cluster_cpus: float, cluster_gpus: float) -> None:
        super().start(ctx, cluster_cpus, cluster_gpus)
        args = dict(self.remote_args)
        args.setdefault("num_cpus", 1)
        self._actor_cls = ember.remote(MapWorker).options(**args)
        self._actor_args = args
        self._per_actor = self.compute.max_tasks_in_flight_per_actor or \
            ctx.max_tasks_in_flight_per_actor
        max_size = self.compute.max_size
        if max_size is None:
            max_size = max(self.compute.min_size, _slots(args, cluster_cpus, cluster_gpus))
        self._max_size = max_size
        self._actors: list[Any] = []
        self._load: dict[Any, int] = {}
        self._pending_ready: dict[Any, Any] = {}  # ready() ref -> actor
        self._ready: list[Any] = []
        self._stages_ref = ember.put(self.stages)
        self._started = time.monotonic()
        for _ in range(self.compute.min_size):
            self._add_actor()
        self.max_concurrency = self._max_size * self._per_actor

    def poll(self) -> None:
        if self._actors and not self._ready and not self.stopped and \
                time.monotonic() - self._started > self.ctx.wait_for_min_actors_s:
            raise TimeoutError(
                f"No actor of operator {self.name} started within "
                f"{self.ctx.wait_for_min_actors_s:.0f}s; the cluster may lack the resources "
                f"each actor asks for ({self._actor_args}). Lower num_cpus/num_gpus or "
                "concurrency.")

    def _add_actor(self) -> None:
        actor = self._actor_cls.remote(self._stages_ref, self.ctx)
        self._actors.append(actor)
        self._pending_ready[actor.ready.remote()] = actor

    def waitables(self) -> list[Any]:
        return list(self._active) + list(self._pending_ready)

    def on_ready(self, ref: Any) -> None:
        if ref in self._pending_ready:
            actor = self._pending_ready.pop(ref)
            try:
                ember.get(ref)
            except Exception as e:
                e.add_note(f"(while creating an actor for operator {self.name})")
                raise
            self._ready.append(actor)
            self._load[actor] = 0
            return
        super().on_ready(ref)

    def _task_finished(self, task: Any) -> None:
        if task.actor in self._load:
            self._load[task.actor] -= 1

    def _has_slot(self) -> bool:
        if not self._ready:
            return False
        least = min(self._ready, key=lambda a: self._load[a])
        if self._load[least] < self._per_actor:
            return True
        return False

    def can_dispatch(self) -> bool:
        ok = super().can_dispatch()
        if not ok and self._bundle_ready() and not self.stopped:
            self._maybe_scale_up()
        return ok

    def _maybe_scale_up(self) -> None:
        busy = all(self._load[a] >= 1 for a in self._ready)
        if busy and not self._pending_ready and len(self._actors) < self._max_size:
            self._add_actor()

    def _launch(self, bundle: RefBundle) -> tuple[Any, Any]:
        actor = min(self._ready, key=lambda a: self._load[a])
        self._load[actor] += 1
        return actor.run.remote(self._seq, *bundle.refs()), actor

    def finished_producing(self) -> bool:
        done = super().finished_producing()
        if done and self._actors:
            self._release_actors()
        return done

    def _release_actors(self) -> None:
        for a in self._actors:
            try:
                ember.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors, self._ready, self._load, self._pending_ready = [], [], {}, {}

    def shutdown(self) -> None:
        self._release_actors()

    def num_active(self) -> int:
        return len(self._active)

    def stats_extra(self) -> dict:
        return {"actors": len(self._actors)}
