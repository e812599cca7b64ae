"""An error raised by `get` keeps nothing of its caller alive: the ObjectRefs in the
frames it went through are freed when those frames end, not when Python's cyclic collector
happens to run (the chaos test once found a 10 MB object held that way)."""

from __future__ import annotations

import asyncio
import gc
import os
import time

import numpy as np
import pytest

import ember
from ember.util import state


@ember.remote
def fails() -> None:
    raise ValueError("on purpose")


@ember.remote(max_retries=0)
def crashes() -> None:
    os._exit(1)


def _in_store(oid: str) -> bool:
    return any(o["object_id"] == oid for o in state.list_objects())


def _wait_freed(oid: str) -> bool:
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if not _in_store(oid):
            return True
        time.sleep(0.05)
    return False


ERRORS = {
    "the task's exception": (lambda: fails.remote(), ValueError),
    "a crashed worker": (lambda: crashes.remote(), ember.exceptions.WorkerCrashedError),
    "a crashed worker, in a list": (lambda: [ember.put(1), crashes.remote()],
                                    ember.exceptions.WorkerCrashedError),
}


@pytest.mark.parametrize("how", sorted(ERRORS))
def test_refs_in_the_frame_that_caught_the_error_are_freed_with_it(cluster, how):
    make, error = ERRORS[how]

    def catch() -> str:
        blob = ember.put(np.zeros(4 << 20, dtype=np.uint8))
        try:
            ember.get(make())
        except error:
            pass
        return blob.hex()

    gc.collect()
    gc.disable()  # what only the cyclic collector could free stays
    try:
        oid = catch()
        assert _wait_freed(oid), "the caller's ObjectRef outlived its frame"
    finally:
        gc.enable()


def test_refs_in_a_coroutine_that_caught_an_awaited_error_are_freed_with_it(cluster):
    async def catch() -> str:
        blob = ember.put(np.zeros(4 << 20, dtype=np.uint8))
        try:
            await crashes.remote()
        except ember.exceptions.WorkerCrashedError:
            pass
        return blob.hex()

    gc.collect()
    gc.disable()
    try:
        oid = asyncio.run(catch())
        assert _wait_freed(oid), "the coroutine's ObjectRef outlived it"
    finally:
        gc.enable()
