"""A streaming generator dropped before its end frees the items nobody read, whether the
caller is the driver or a task, and whenever Python's cyclic collector finalizes it:
also inside the runtime's own locks, where sending the drop at once would deadlock."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import numpy as np
import pytest

import ember
from ember.util import state

ITEM = 1 << 20


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@ember.remote(num_returns="streaming")
def items(n: int):
    for i in range(n):
        yield np.full(ITEM, i, dtype=np.uint8)


def _big_objects() -> list[dict]:
    return [o for o in state.list_objects() if o.get("object_size", 0) >= ITEM]


def _wait_none_left() -> list[dict]:
    end = time.monotonic() + 10
    while (left := _big_objects()) and time.monotonic() < end:
        time.sleep(0.05)
    return left


def test_the_driver_drops_a_generator_after_one_item(cluster):
    gen = items.remote(4)
    assert ember.get(next(gen))[0] == 0
    for _ in range(50):  # all four items are in the store before the drop
        if len(_big_objects()) >= 3:
            break
        time.sleep(0.05)
    gen.cycle = gen  # only the cyclic collector frees it
    del gen
    gc.collect()
    assert _wait_none_left() == []


@ember.remote
def consume_one_and_drop_under_the_send_lock() -> int:
    from ember._core.caller import context

    gen = items.remote(3)
    first = int(ember.get(next(gen))[0])
    gen.cycle = gen
    del gen
    client = context.current_client()
    with client.send_lock:  # as when the collector runs while this thread sends
        gc.collect()
    return first


def test_a_task_drops_a_generator_while_its_runtime_holds_a_lock(cluster):
    assert ember.get(consume_one_and_drop_under_the_send_lock.remote(), timeout=30) == 0
    assert _wait_none_left() == []
