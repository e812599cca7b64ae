"""Dataset.to_random_access_dataset: rows looked up by key through actors."""

from __future__ import annotations

import pytest

import ember

pytestmark = pytest.mark.usefixtures("cluster")


def test_get_async_and_multiget_find_rows_by_key():
    ds = ember.data.range(50, override_num_blocks=5).add_column("key", lambda b: b["id"] * 2)
    rad = ds.random_shuffle(seed=1).to_random_access_dataset("key", num_workers=2)
    assert ember.get(rad.get_async(14)) == {"id": 7, "key": 14}
    assert ember.get(rad.get_async(15)) is None
    assert ember.get(rad.get_async(-1)) is None and ember.get(rad.get_async(1000)) is None
    assert rad.multiget([98, 3, 0, 200]) == [{"id": 49, "key": 98}, None,
                                              {"id": 0, "key": 0}, None]
    assert "Accesses per worker:" in rad.stats()


def test_empty_blocks_and_counted_accesses():
    rad = ember.data.range(6).repartition(12).to_random_access_dataset("id", num_workers=1)
    assert [ember.get(rad.get_async(i)) for i in range(6)] == [{"id": i} for i in range(6)]
    assert "Accesses per worker: 6 min, 6 max, 6 mean" in rad.stats()


def test_unknown_key_column_raises_value_error():
    with pytest.raises(ValueError, match="invalid"):
        ember.data.range(3).to_random_access_dataset("invalid")


def test_ref_bundles_expose_block_refs_and_metadata():
    ds = ember.data.range(10, override_num_blocks=2).materialize()
    bundles = list(ds.iter_internal_ref_bundles())
    refs = [r for b in bundles for r in b.block_refs]
    assert sum(ember.get(r).num_rows for r in refs) == 10
    assert sum(m.num_rows for b in bundles for m in b.metadata) == 10
