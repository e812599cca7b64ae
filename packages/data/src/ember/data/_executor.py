"""The streaming executor: runs a physical plan in a background thread with backpressure.

Memory bound: the bytes in flight (blocks queued between operators, pinned by running
tasks, expected from running tasks, and waiting for the consumer) stay within a budget,
`DataContext.object_store_memory_limit_fraction` of the object store unless
`execution_options.resource_limits.object_store_memory` says otherwise. Each operator
is guaranteed an equal reservation of part of the budget (so downstream operators can
always drain what upstream produced) and shares the rest; an operator holding nothing
may always run one task, so a block larger than the budget still makes progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import ember
from ember.data._metadata import RefBundle
from ember.data._metrics import next_dataset_tag
from ember.data._physical import LimitOperator, PhysicalOperator
from ember.data._progress import ProgressBars
from ember.data._stats import DatasetStats
from ember.data.context import DataContext
from ember.data.exceptions import UserCodeException, as_instance_of

__all__ = ["StreamingExecutor", "store_capacity", "topological"]

_WAIT_S = 0.05
_STORE_SAMPLE_S = 0.1  # how often the object store's use is sampled for stats()


def topological(final: PhysicalOperator) -> list[PhysicalOperator]:
    out: list[PhysicalOperator] = []
    seen: set[int] = set()

    def visit(op: PhysicalOperator) -> None:
        if id(op) in seen:
            return
        seen.add(id(op))
        for i in op.inputs:
            visit(i)
        out.append(op)

    visit(final)
    return out


def store_capacity() -> int:
    """The object store's size: from the cluster's resources when it reports it, else
    ember's default share of memory (30% of the node's RAM)."""
    res = ember.cluster_resources()
    cap = res.get("object_store_memory")
    if cap:
        return int(cap)
    mem = res.get("memory")
    return int(mem * 0.3 / 0.7) if mem else 2 << 30


def _store_stats() -> dict | None:
    try:
        from ember.lowlevel import object_store_stats

        return object_store_stats()
    except Exception:  # noqa: BLE001 - stats are best effort (e.g. an older core)
        return None


def _user_error(e: BaseException) -> BaseException | None:
    cause = getattr(e, "cause", None)
    uce = cause if isinstance(cause, UserCodeException) else \
        (e if isinstance(e, UserCodeException) else None)
    if uce is None:
        return None
    original = getattr(uce, "original", None)
    return as_instance_of(uce, original)


class StreamingExecutor:
    """Execute once; iterate to receive output bundles as they are produced."""

    def __init__(self, final: PhysicalOperator, ctx: DataContext | None = None) -> None:
        self.ctx = (ctx or DataContext.get_current()).copy()
        self.final = final
        self.ops = topological(final)
        self.consumers: dict[int, list[tuple[PhysicalOperator, int]]] = {
            id(op): [] for op in self.ops}
        for op in self.ops:
            for idx, inp in enumerate(op.inputs):
                self.consumers[id(inp)].append((op, idx))
        self._out: deque[RefBundle] = deque()
        self._out_bytes = 0
        self._cond = threading.Condition()
        self._signaled: set[int] = set()
        self._final_done = False
        self._woken = False
        self._shutdown = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self.stats = DatasetStats(ops=[op.stats for op in self.ops if not op.hidden])
        tag = next_dataset_tag()  # the `dataset` tag of this execution's metrics
        for op in self.ops:
            op.stats.dataset = tag
        self.budget = 0
        self._progress = ProgressBars(self.ctx.enable_progress_bars)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> StreamingExecutor:
        res = ember.cluster_resources()
        limits = self.ctx.execution_options.resource_limits
        cpus = limits.cpu if limits.cpu is not None else res.get("CPU", 1.0)
        gpus = limits.gpu if limits.gpu is not None else res.get("GPU", 0.0)
        if limits.object_store_memory:
            self.budget = int(limits.object_store_memory)
        else:
            self.budget = int(store_capacity() * self.ctx.object_store_memory_limit_fraction)
        self.stats.budget_bytes = self.budget
        # Blocks well under the budget: a small object store still gets many blocks in
        # flight, and no single task output can crowd everything else out.
        cap = max(1 << 20, self.budget // 8)
        if not self.ctx.target_max_block_size or self.ctx.target_max_block_size > cap:
            self.ctx.target_max_block_size = cap
        self._started_at = time.perf_counter()
        self._store0 = _store_stats()
        self._store_sampled_at = self._started_at
        for op in self.ops:
            op.wake = self._wake
            op.start(self.ctx, cpus, gpus)
        self._warn_if_actors_starve_tasks(cpus)
        self._thread = threading.Thread(target=self._run, name="ember-data-executor",
                                        daemon=True)
        self._thread.start()
        return self

    def _record_store_use(self, final: bool = False) -> None:
        """Spilled/restored bytes since the start, and the store's peak use (sampled)."""
        now = _store_stats()
        if now is None or self._store0 is None:
            return
        self.stats.store_peak_bytes = max(self.stats.store_peak_bytes, now["used_bytes"])
        if final:
            self.stats.spilled_bytes = now["spilled_bytes_total"] - \
                self._store0["spilled_bytes_total"]
            self.stats.restored_bytes = now["restored_bytes_total"] - \
                self._store0["restored_bytes_total"]

    def _wake(self) -> None:
        """An operator's helper thread has output: end the loop's idle wait now."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def _warn_if_actors_starve_tasks(self, cpus: float) -> None:
        """Actor pools that hold every CPU leave none for task operators after them."""
        from ember.data._map_operator import ActorPoolMapOperator, TaskPoolMapOperator

        pools = [op for op in self.ops if isinstance(op, ActorPoolMapOperator)]
        held = sum(op.compute.min_size * (op.remote_args.get("num_cpus", 1) or 0)
                   for op in pools)
        if not pools or held < cpus:
            return
        later = [op for op in self.ops[self.ops.index(pools[0]) + 1:]
                 if isinstance(op, TaskPoolMapOperator)]
        if later:
            logging.getLogger("ember.data").warning(
                "Actor pools reserve %s of %s CPUs, so the task operator %s may wait until "
                "they finish; give the actors fractional num_cpus (e.g. num_cpus=0.5) or a "
                "smaller concurrency.", held, cpus, later[0].name)

    def shutdown(self) -> None:
        self._shutdown = True
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def __iter__(self) -> Iterator[RefBundle]:
        try:
            while True:
                with self._cond:
                    while not self._out and not self._final_done and self._error is None \
                            and not self._shutdown:
                        self._cond.wait(0.1)
                    if self._out:
                        bundle = self._out.popleft()
                        self._out_bytes -= bundle.size_bytes()
                        self._cond.notify_all()
                    elif self._error is not None:
                        raise self._error
                    else:
                        return
                yield bundle
        finally:
            self.shutdown()

    # -- the loop --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._shutdown:
                self._step()
                if self._final_done:
                    break
        except BaseException as e:  # noqa: BLE001 - delivered to the consumer
            converted = _user_error(e)
            if converted is None:
                converted = e
            with self._cond:
                self._error = converted
        finally:
            for op in self.ops:
                try:
                    op.shutdown()
                except Exception:  # noqa: BLE001
                    pass
            self.stats.wall_s = time.perf_counter() - self._started_at
            self._record_store_use(final=True)
            self._progress.update(self.ops, force=True)
            self._progress.close()
            with self._cond:
                self._final_done = True
                self._cond.notify_all()

    def _step(self) -> None:
        for op in self.ops:
            op.poll()
        self._transfer()
        self._dispatch()
        refs: list[Any] = []
        owner: dict[Any, PhysicalOperator] = {}
        for op in self.ops:
            for r in op.waitables():
                refs.append(r)
                owner[r] = op
        if refs:
            ready, _ = ember.wait(refs, num_returns=1, timeout=_WAIT_S)
            if ready and len(refs) > 1:
                ready, _ = ember.wait(refs, num_returns=len(refs), timeout=0)
            for r in ready:
                op = owner[r]
                try:
                    op.on_ready(r)
                except BaseException as e:
                    if isinstance(e, Exception) and _user_error(e) is None:
                        e.add_note(f"(in operator {op.name})")
                    raise
        elif not self._final_done:
            with self._cond:
                if not self._woken:
                    self._cond.wait(_WAIT_S / 5)
                self._woken = False
        self._transfer()
        self._track_usage()
        self._progress.update(self.ops)

    def _transfer(self) -> None:
        for op in self.ops:
            while op.output:
                bundle = op.output.popleft()
                if op is self.final:
                    with self._cond:
                        self._out.append(bundle)
                        self._out_bytes += bundle.size_bytes()
                        self._cond.notify_all()
                else:
                    for consumer, idx in self.consumers[id(op)]:
                        consumer.add_input(bundle, idx)
            if isinstance(op, LimitOperator) and op.reached():
                self._stop_upstream(op)
            if id(op) not in self._signaled and op.finished_producing() and not op.output:
                self._signaled.add(id(op))
                op.stats.mark_finished()
                for consumer, idx in self.consumers[id(op)]:
                    consumer.input_done(idx)
                if op is self.final:
                    with self._cond:
                        self._final_done = True
                        self._cond.notify_all()

    def _stop_upstream(self, op: PhysicalOperator) -> None:
        for inp in op.inputs:
            if not inp.stopped:
                inp.stop()
                self._stop_upstream(inp)

    # -- backpressure ----------------------------------------------------------------
    def _usage(self, op: PhysicalOperator) -> int:
        u = op.running_bytes() + sum(b.size_bytes() for b in op.output)
        for consumer, _ in self.consumers[id(op)]:
            u += consumer.queued_input_bytes()
        if op is self.final:
            u += self._out_bytes
        return u

    def _queued_blocks_downstream(self, op: PhysicalOperator) -> int:
        if op is self.final:
            return sum(len(b.blocks) for b in self._out)
        return max((c.num_queued() for c, _ in self.consumers[id(op)]), default=0)

    def _allowed(self, op: PhysicalOperator, usage: dict[int, int]) -> bool:
        mine = usage[id(op)]
        if mine == 0:
            return True
        if self._queued_blocks_downstream(op) >= self.ctx.max_op_output_queue_blocks:
            return False
        n = len(self.ops)
        reserved = self.budget * self.ctx.op_resource_reservation_ratio / n
        shared = self.budget - reserved * n
        over = sum(max(0, u - reserved) for k, u in usage.items() if k != id(op))
        return mine + op.next_task_estimate() <= reserved + max(0.0, shared - over)

    def _dispatch(self) -> None:
        progress = True
        while progress and not self._shutdown:
            progress = False
            usage = {id(op): self._usage(op) for op in self.ops}
            for op in reversed(self.ops):
                if op.stopped or any(id(b) not in self._signaled for b in op.blocked_by):
                    continue
                if op.can_dispatch() and self._allowed(op, usage):
                    op.dispatch()
                    progress = True
                    self._transfer()
                    break

    def _track_usage(self) -> None:
        total = sum(self._usage(op) for op in self.ops)
        if total > self.stats.peak_bytes_in_flight:
            self.stats.peak_bytes_in_flight = total
        now = time.perf_counter()
        if now - self._store_sampled_at >= _STORE_SAMPLE_S:
            self._store_sampled_at = now
            self._record_store_use()
