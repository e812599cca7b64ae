"""A dataset ~5x larger than the object store streams through map_batches and an actor
pool into Parquet files with bounded memory: nothing spills, nothing fails. Materializing
more than the store does spill, and Dataset.stats() says how much."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import ember
import ember.data as rd
from ember.data.context import DataContext
from ember.util import state

STORE = 64 * 1024 * 1024
ROWS = 300_000  # x (8 B id + 1 KiB payload) ~= 310 MB


@pytest.fixture(scope="module")
def small_store():
    if ember.is_initialized():
        ember.shutdown()
    ember.init(num_cpus=2, object_store_memory=STORE)
    yield
    ember.shutdown()


def _expand(batch):
    ids = batch["id"]
    return {"id": ids, "payload": np.repeat(ids[:, None], 128, axis=1)}


class Checksum:
    """Actor-pool stage: adds a per-row checksum of the payload."""

    def __call__(self, batch):
        return {"id": batch["id"], "payload": batch["payload"],
                "check": batch["payload"].sum(axis=1)}


def _live_store_bytes() -> int:
    return sum(o["object_size"] for o in state.list_objects() if o.get("in_store"))


def test_larger_than_store_streams_to_parquet_with_bounded_memory(small_store, tmp_path):
    budget = STORE // 2
    DataContext.get_current().execution_options.resource_limits.object_store_memory = budget
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _live_store_bytes())
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = str(tmp_path / "out")
    ds = (rd.range(ROWS, override_num_blocks=150)
          .map_batches(_expand)
          .map_batches(Checksum, concurrency=2, num_cpus=0.5))
    try:
        ds.write_parquet(out, compression="none")
    finally:
        done.set()
        sampler.join()

    stats = ds._stats
    produced = sum(op.bytes_out for op in stats.ops if "Checksum" in op.name)
    assert produced > 4 * STORE  # the data really was larger than the store
    assert stats.peak_bytes_in_flight <= budget + 4 * (2 << 20)  # budget + a block per op
    assert peak[0] < STORE * 3 // 4, peak[0]  # live objects never came near the capacity
    assert stats.spilled_bytes == 0  # working set under half the store: nothing spills
    assert "object store: 0 B spilled" in ds.stats()
    assert len(os.listdir(out)) == 150

    back = rd.read_parquet(out, columns=["id", "check"])
    assert back.count() == ROWS
    assert back.sum("id") == ROWS * (ROWS - 1) // 2
    assert back.sum("check") == 128 * ROWS * (ROWS - 1) // 2


def test_materializing_more_than_the_store_spills_and_stats_report_it(small_store):
    ds = rd.range(120_000, override_num_blocks=24).map_batches(_expand).materialize()
    assert ds.size_bytes() > STORE  # kept blocks cannot all stay in memory
    assert ds._stats.spilled_bytes > 0
    assert "0 B spilled" not in ds.stats()
    assert ds.sum("id") == 120_000 * 119_999 // 2  # spilled blocks are restored on read
