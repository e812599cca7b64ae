"""A small store: spilling loses nothing, and an object larger than the store is refused."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.exceptions import ObjectStoreFullError
from ember.util import state


def test_full_store_spills_and_restores_everything(shutdown_after):
    ember.init(num_cpus=1, object_store_memory=64 * 1024 * 1024)
    refs = [ember.put(np.full(2_000_000, i, dtype=np.int64)) for i in range(10)]  # 160 MB
    stats = state._rows("store", None, 1)[0]
    assert stats["spilled_total"] > 0
    for i, r in enumerate(refs):
        arr = ember.get(r)
        assert arr[0] == i and arr[-1] == i
        del arr

    @ember.remote
    def total(a):
        return int(a.sum())

    assert ember.get(total.remote(refs[0])) == 0
    assert ember.get(total.remote(refs[9])) == 9 * 2_000_000


def test_object_larger_than_store_is_refused(shutdown_after):
    ember.init(num_cpus=1, object_store_memory=16 * 1024 * 1024)
    with pytest.raises(ObjectStoreFullError, match="capacity"):
        ember.put(np.zeros(4 * 1024 * 1024))  # 32 MB
    assert ember.get(ember.put(1)) == 1  # the cluster keeps working
