"""The streaming executor: backpressure bounds bytes in flight, order, errors, progress."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

import ember
import ember.data as rd
from ember.data._executor import StreamingExecutor
from ember.data._planner import optimize, plan
from ember.data._progress import ProgressBars, render_line
from ember.data._stats import OpStats
from ember.data.context import DataContext

pytestmark = pytest.mark.usefixtures("cluster")

BLOCK = 25_000 * 8  # rows per block x int64: 200 kB, above the inline-object limit


def _executor(ds):
    ctx = DataContext.get_current()
    return StreamingExecutor(plan(optimize(ds._plan), ctx), ctx).start()


def _wait_idle(ex, timeout=30.0):
    """Until no operator has work in flight (the executor is blocked by backpressure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(op.num_active() == 0 for op in ex.ops):
            return
        time.sleep(0.01)
    raise AssertionError("executor never became idle")


def test_backpressure_stops_producers_when_the_consumer_stalls():
    budget = 2 << 20
    DataContext.get_current().execution_options.resource_limits.object_store_memory = budget
    ds = rd.range(25_000 * 80, override_num_blocks=80).map_batches(lambda b: {"x": b["id"] * 2})
    ex = _executor(ds)
    it = iter(ex)
    first = next(it)  # take one bundle, then stall
    _wait_idle(ex)
    submitted = sum(op.stats.tasks_submitted for op in ex.ops)
    assert submitted < 30, submitted  # far fewer than the 80 tasks of the whole dataset
    rows = first.num_rows() + sum(b.num_rows() for b in it)  # draining finishes the run
    assert rows == 25_000 * 80
    slack = 2 * BLOCK  # an operator holding nothing may always start one task
    assert ex.stats.peak_bytes_in_flight <= budget + slack


def test_bounded_bytes_across_a_task_and_actor_pipeline():
    budget = 3 << 20
    DataContext.get_current().execution_options.resource_limits.object_store_memory = budget

    class AddOne:
        def __call__(self, batch):
            return {"x": batch["x"] + 1}

    ds = (rd.range(25_000 * 60, override_num_blocks=60)
          .map_batches(lambda b: {"x": b["id"]})
          .map_batches(AddOne, concurrency=2, num_cpus=0.5)
          .map_batches(lambda b: {"x": b["x"] * 2}))
    total = sum(int(b["x"].sum()) for b in ds.iter_batches(batch_size=None))
    n = 25_000 * 60
    assert total == 2 * (n * (n - 1) // 2 + n)
    assert ds._stats.peak_bytes_in_flight <= budget + 3 * BLOCK


def test_outputs_keep_input_order_despite_uneven_tasks():
    def uneven(batch):
        if batch["id"][0] % 3 == 0:
            sum(range(200_000))  # some tasks take longer than others
        return batch

    ids = [r["id"] for r in rd.range(300, override_num_blocks=30).map_batches(uneven)
           .take_all()]
    assert ids == list(range(300))


def test_user_error_names_operator_and_row():
    def bad(row):
        if row["id"] == 57:
            raise ValueError("cannot handle 57")
        return row

    with pytest.raises(ValueError, match="cannot handle 57") as info:
        rd.range(100, override_num_blocks=4).map(bad).take_all()
    err = info.value
    assert isinstance(err, rd.UserCodeException)
    msg = str(err)
    assert "Map(bad)" in msg and "{'id': 57}" in msg and 'raise ValueError("cannot' in msg
    assert rd.range(3).count() == 3  # the cluster keeps working


def test_batch_error_names_the_rows_at_fault():
    def boom(batch):
        if batch["id"][0] >= 20:
            raise KeyError("missing")
        return batch

    with pytest.raises(KeyError) as info:
        rd.range(40, override_num_blocks=1).map_batches(boom, batch_size=10).take_all()
    msg = str(info.value)
    assert "MapBatches(boom)" in msg and "batch of rows 20..29" in msg


def test_invalid_udf_output_is_reported():
    with pytest.raises(rd.UserCodeException, match="must return a dict"):
        rd.range(3).map(lambda r: 5).take_all()
    with pytest.raises(rd.UserCodeException, match="invalid batch"):
        rd.range(3).map_batches(lambda b: [1, 2]).take_all()


def test_actor_constructor_error_is_reported():
    class Broken:
        def __init__(self):
            raise RuntimeError("no model file")

        def __call__(self, b):
            return b

    with pytest.raises(Exception, match="no model file") as info:
        rd.range(10).map_batches(Broken, concurrency=1).take_all()
    assert "MapBatches(Broken)" in str(info.value) or "MapBatches(Broken)" in "".join(
        getattr(info.value, "__notes__", []))


def test_progress_line_and_tty_detection():
    stats = OpStats("Map(f)", tasks_done=3, rows_out=1500, blocks_out=3)
    stats.mark_started()
    line = render_line(stats, 10, queued=2, active=1, width=300)
    assert line.startswith("Map(f): [######") and "3/10" in line
    assert "1500 rows" in line and "3 blocks" in line and "active 1, queued 2" in line
    assert not ProgressBars(True, io.StringIO()).enabled  # not a TTY

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    assert not ProgressBars(False, FakeTTY()).enabled
    out = FakeTTY()
    DataContext.get_current().enable_progress_bars = True
    ds = rd.range(100, override_num_blocks=4).map(lambda r: r)
    ex = StreamingExecutor(plan(optimize(ds._plan), DataContext.get_current()))
    ex._progress = ProgressBars(True, out, interval_s=0)
    ex.start()
    assert sum(b.num_rows() for b in ex) == 100
    text = out.getvalue()
    assert "ReadRange->Map(<lambda>)" in text and "100 rows" in text


def test_dataset_executes_in_a_task():
    @ember.remote
    def inner():
        return rd.range(100).map_batches(lambda b: {"x": b["id"] * 3}).sum("x")

    assert ember.get(inner.remote()) == 3 * sum(range(100))


def test_tensor_blocks_read_zero_copy():
    ds = rd.range(4).map_batches(lambda b: {"x": np.ones((len(b["id"]), 50_000))}).materialize()
    batch = next(iter(ds.iter_batches(batch_size=None)))
    assert not batch["x"].flags.writeable  # a view of the shared-memory block


def test_data_context_travels_to_tasks():
    ctx = DataContext.get_current()
    ctx.target_max_block_size = 64 * 1024
    ctx.set_config("marker", "from-driver")

    def seen(batch):
        return {"m": np.array([DataContext.get_current().get_config("marker")] * len(batch["id"]))}

    ds = rd.range(100_000, override_num_blocks=1).map_batches(seen).materialize()
    assert ds.num_blocks() >= 10  # one task's 800 kB output split into <= 64 KiB blocks
    assert ds.take(1) == [{"m": "from-driver"}]
    assert DataContext.get_current() is ctx


def test_invalid_batch_is_also_a_value_error_as_ray():
    with pytest.raises(ValueError, match="invalid batch") as info:
        rd.range(3).map_batches(lambda b: 1, batch_format="pyarrow").take_all()
    assert isinstance(info.value, rd.UserCodeException)


def test_constructor_args_need_a_callable_class():
    with pytest.raises(ValueError, match="callable class"):
        rd.range(3).map_batches(lambda b: b, fn_constructor_args=(1,))


def test_unbounded_target_block_size_plans_and_runs():
    rd.DataContext.get_current().target_max_block_size = None
    assert rd.range(100).map_batches(lambda b: b).count() == 100
