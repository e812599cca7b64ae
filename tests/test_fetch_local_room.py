"""wait(fetch_local=True) on a cluster as in Ray: a value on another node counts once it
is copied here, so not while this node's store has no room for it; with Ray's
`automatic_object_spilling_enabled: False` the store makes none by spilling."""

from __future__ import annotations

import pytest

import ember
from ember.cluster_utils import Cluster
from ember.exceptions import ObjectStoreFullError

MB = 1 << 20


@pytest.fixture
def small_head():
    ember.shutdown()
    cluster = Cluster()
    cluster.add_node(num_cpus=0, object_store_memory=75 * MB,
                     _system_config={"automatic_object_spilling_enabled": False})
    cluster.add_node(num_cpus=1, object_store_memory=75 * MB)
    cluster.connect()
    yield cluster
    ember.shutdown()
    cluster.shutdown()


def test_fetch_local_waits_for_room_in_a_store_that_may_not_spill(small_head):
    @ember.remote(num_cpus=1)
    def make() -> bytearray:
        return bytearray(b"x" * (40 * MB))

    local = ember.put(bytearray(40 * MB))  # pinned here: 40 of the head's 75 MB
    ref = make.remote()
    assert ember.wait([ref], fetch_local=False, timeout=60) == ([ref], [])
    # No room for the copy while `local` is held, and the head may not spill it.
    assert ember.wait([ref], fetch_local=True, timeout=1.5) == ([], [ref])
    assert ember.wait([ref], fetch_local=True, timeout=1.5) == ([], [ref])
    del local
    assert ember.wait([ref], fetch_local=True, timeout=60) == ([ref], [])
    value = ember.get(ref)
    assert len(value) == 40 * MB and value[:1] == b"x"


def test_without_spilling_a_full_store_refuses_a_put(shutdown_after):
    ember.init(num_cpus=1, object_store_memory=60 * MB,
               _system_config={"automatic_object_spilling_enabled": False})
    held = ember.put(bytearray(40 * MB))
    with pytest.raises(ObjectStoreFullError):
        ember.put(bytearray(40 * MB))
    del held
    assert len(ember.get(ember.put(bytearray(40 * MB)))) == 40 * MB
