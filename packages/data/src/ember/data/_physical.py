"""Physical operators driven by the streaming executor (all run on the driver thread).

Every operator receives RefBundles on numbered inputs and emits RefBundles on its
output deque. Map operators launch tasks or actor calls (see _map_operator.py); the
ones here move refs around (input buffers, limit, union) or run a barrier step in a
helper thread (all-to-all operators: repartition, shuffle, sort, groupby, zip).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import ember
from ember.data._metadata import BlockMetadata, RefBundle, put_block
from ember.data._metrics import OutputMetrics
from ember.data._stats import OpStats

__all__ = [
    "AllToAllOperator",
    "InputDataBuffer",
    "LimitOperator",
    "PhysicalOperator",
    "UnionOperator",
]


class PhysicalOperator:
    """Base: input bookkeeping, the output deque and the executor-facing hooks."""

    hidden = False  # not shown in progress bars
    is_source = False

    def __init__(self, name: str, inputs: list[PhysicalOperator]) -> None:
        self.name = name
        self.inputs = inputs
        self.output: deque[RefBundle] = deque()
        self.stats = OpStats(name)
        self._inputs_done = [False] * len(inputs)
        self.stopped = False  # no more output wanted (a downstream limit was reached)
        self.blocked_by: list[PhysicalOperator] = []  # must complete before we dispatch
        self.ctx: Any = None
        self.wake: Callable[[], None] = lambda: None  # set by the executor: "poll me now"

    # -- lifecycle -------------------------------------------------------------------
    def start(self, ctx: Any, cluster_cpus: float, cluster_gpus: float) -> None:
        self.ctx = ctx

    def shutdown(self) -> None:
        """Release resources (actors); called once when execution ends for any reason."""

    def stop(self) -> None:
        """Nothing more is needed from this operator: drop queued work and outputs."""
        self.stopped = True
        self.output.clear()

    # -- inputs ----------------------------------------------------------------------
    def add_input(self, bundle: RefBundle, index: int) -> None:
        raise NotImplementedError

    def input_done(self, index: int) -> None:
        self._inputs_done[index] = True

    def all_inputs_done(self) -> bool:
        return all(self._inputs_done)

    # -- work ------------------------------------------------------------------------
    def waitables(self) -> list[Any]:
        """ObjectRefs whose readiness means on_ready() has something to do."""
        return []

    def on_ready(self, ref: Any) -> None:
        raise NotImplementedError

    def poll(self) -> None:
        """Pick up results produced off the driver thread (all-to-all operators)."""

    def can_dispatch(self) -> bool:
        return False

    def next_task_estimate(self) -> int:
        """Bytes the next dispatched task is expected to add to the object store."""
        return 0

    def dispatch(self) -> None:
        raise NotImplementedError

    def finished_producing(self) -> bool:
        """No more output will ever appear (outputs may still be queued)."""
        raise NotImplementedError

    # -- accounting ------------------------------------------------------------------
    def running_bytes(self) -> int:
        """Object-store bytes held by in-flight work: pinned inputs + expected outputs."""
        return 0

    def queued_input_bytes(self) -> int:
        return 0

    def num_queued(self) -> int:
        return 0

    def num_active(self) -> int:
        return 0

    def total_tasks_hint(self) -> int | None:
        return None

    def _emit(self, bundle: RefBundle) -> None:
        rows, nbytes = bundle.num_rows(), bundle.size_bytes()
        self.stats.blocks_out += len(bundle.blocks)
        self.stats.rows_out += rows
        self.stats.bytes_out += nbytes
        OutputMetrics.get().record(self.stats.dataset, self.stats.name,
                                   rows, nbytes, len(bundle.blocks))
        self.output.append(bundle)


class InputDataBuffer(PhysicalOperator):
    """A source of bundles already in the store (or of read tasks), released one by one."""

    is_source = True

    def __init__(self, name: str, bundles: list[RefBundle], hidden: bool = False) -> None:
        super().__init__(name, [])
        self._pending = deque(bundles)
        self._total = len(bundles)
        self.hidden = hidden

    def can_dispatch(self) -> bool:
        return bool(self._pending) and not self.stopped

    def next_task_estimate(self) -> int:
        if not self._pending:
            return 0
        b = self._pending[0]
        return 0 if b.extra.get("read_tasks") else b.size_bytes()

    def dispatch(self) -> None:
        self.stats.mark_started()
        bundle = self._pending.popleft()
        if bundle.extra.get("read_tasks"):
            self.output.append(bundle)
        else:
            self._emit(bundle)
        if not self._pending:
            self.stats.mark_finished()

    def finished_producing(self) -> bool:
        return not self._pending or self.stopped

    def stop(self) -> None:
        super().stop()
        self._pending.clear()

    def total_tasks_hint(self) -> int | None:
        return self._total


class LimitOperator(PhysicalOperator):
    """Passes the first `limit` rows; slices the last block on the driver."""

    def __init__(self, input_op: PhysicalOperator, limit: int) -> None:
        super().__init__(f"Limit[{limit}]", [input_op])
        self.remaining = limit
        self.hidden = True

    def add_input(self, bundle: RefBundle, index: int) -> None:
        if self.remaining <= 0 or self.stopped:
            return
        self.stats.mark_started()
        keep: list[tuple[Any, BlockMetadata]] = []
        for ref, meta in bundle.blocks:
            if self.remaining <= 0:
                break
            if meta.num_rows <= self.remaining:
                keep.append((ref, meta))
                self.remaining -= meta.num_rows
            else:
                block = ember.get(ref).slice(0, self.remaining)
                keep.append(put_block(block))
                self.remaining = 0
        if keep:
            self._emit(RefBundle(keep, bundle.owns_blocks, bundle.index))
        if self.remaining <= 0:
            self.stats.mark_finished()

    def reached(self) -> bool:
        return self.remaining <= 0

    def finished_producing(self) -> bool:
        return self.reached() or self.all_inputs_done() or self.stopped


class UnionOperator(PhysicalOperator):
    """Concatenates its inputs in order: input i's bundles follow all of input i-1's."""

    def __init__(self, inputs: list[PhysicalOperator]) -> None:
        super().__init__("Union", inputs)
        self._buffers: list[deque[RefBundle]] = [deque() for _ in inputs]
        self._current = 0
        self.hidden = True

    def add_input(self, bundle: RefBundle, index: int) -> None:
        self.stats.mark_started()
        self._buffers[index].append(bundle)
        self._drain()

    def input_done(self, index: int) -> None:
        super().input_done(index)
        self._drain()

    def _drain(self) -> None:
        while self._current < len(self.inputs):
            buf = self._buffers[self._current]
            while buf:
                self._emit(buf.popleft())
            if not self._inputs_done[self._current]:
                return
            self._current += 1

    def queued_input_bytes(self) -> int:
        return sum(b.size_bytes() for buf in self._buffers for b in buf)

    def finished_producing(self) -> bool:
        return self._current >= len(self.inputs) or self.stopped


class AllToAllOperator(PhysicalOperator):
    """Collects every input bundle, then runs `fn(inputs, ctx)` in a helper thread.

    `fn` receives one list of bundles per input and yields output bundles, which are
    emitted as they come. Barrier operators hold their whole input in the object store
    (spilling if it does not fit), as Ray's do.
    """

    def __init__(self, name: str, inputs: list[PhysicalOperator],
                 fn: Callable[..., Iterator[RefBundle]], args: dict) -> None:
        super().__init__(name, inputs)
        self.fn = fn
        self.args = args
        self._collected: list[list[RefBundle]] = [[] for _ in inputs]
        self._thread: threading.Thread | None = None
        self._results: deque[RefBundle] = deque()
        self._error: BaseException | None = None
        self._done = False
        self._lock = threading.Lock()

    def add_input(self, bundle: RefBundle, index: int) -> None:
        self.stats.mark_started()
        self.stats.bytes_in += bundle.size_bytes()
        self._collected[index].append(bundle)

    def can_dispatch(self) -> bool:
        return self._thread is None and self.all_inputs_done() and not self.stopped

    def dispatch(self) -> None:
        self.stats.mark_started()
        self._thread = threading.Thread(target=self._run, name=f"ember-data-{self.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            inputs = self._collected
            for out in self.fn(*inputs, ctx=self.ctx, stats=self.stats, **self.args):
                if self.stopped:
                    break
                with self._lock:
                    self._results.append(out)
                self.wake()
        except BaseException as e:  # noqa: BLE001 - surfaced by poll()
            self._error = e
        finally:
            self._collected = [[] for _ in self.inputs]
            self._done = True
            self.wake()

    def poll(self) -> None:
        with self._lock:
            while self._results:
                self._emit(self._results.popleft())
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        if self._done:
            self.stats.mark_finished()

    def running_bytes(self) -> int:
        if self._thread is None or self._done:
            return 0
        return self.stats.bytes_in

    def queued_input_bytes(self) -> int:
        if self._thread is not None:
            return 0
        return sum(b.size_bytes() for bundles in self._collected for b in bundles)

    def num_active(self) -> int:
        return 1 if self._thread is not None and not self._done else 0

    def finished_producing(self) -> bool:
        if self.stopped:
            return True
        return self._done and not self._results and self._error is None
