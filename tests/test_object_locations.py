"""ember.experimental.get_object_locations, as Ray's: the nodes holding each object's
value and its size, nothing while it is not made yet, RuntimeError before init()."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

import ember
from ember.experimental import get_local_object_locations, get_object_locations


def test_before_init_it_is_a_runtime_error():
    code = ("import ember.experimental as e\n"
            "try:\n    e.get_object_locations([])\nexcept RuntimeError as x:\n"
            "    print('refused', 'ember.init()' in str(x))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "refused True", out.stderr


@ember.remote
def forever() -> None:
    time.sleep(3600)


def test_stored_inlined_and_pending_objects(cluster):
    node = ember.get_runtime_context().get_node_id()
    assert get_object_locations([]) == {}
    big = ember.put(np.zeros(1 << 20, dtype=np.uint8))
    small = ember.put("123")
    pending = forever.remote()
    try:
        where = get_object_locations([big, small, pending])
        assert where[big]["node_ids"] == [node] and where[big]["object_size"] > 1 << 20
        assert where[small]["node_ids"] == [node] and where[small]["object_size"] > 0
        assert where[pending]["node_ids"] == [] and where[pending]["object_size"] is None
        assert get_local_object_locations([big]) == {big: where[big]}
    finally:
        ember.cancel(pending, force=True)
