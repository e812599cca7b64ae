"""Fixtures for ember Data: a small one-node cluster per test module, fresh DataContext."""

from __future__ import annotations

import pytest

import ember
from ember.data.context import DataContext


@pytest.fixture(scope="module")
def cluster():
    """2 CPUs and a 256 MiB object store, shared by the tests of one module."""
    if ember.is_initialized():
        ember.shutdown()
    ember.init(num_cpus=2, object_store_memory=256 * 1024 * 1024)
    yield
    ember.shutdown()


@pytest.fixture(autouse=True)
def fresh_context():
    """Each test starts from default tunables (tests may change them freely)."""
    DataContext._set_current(DataContext())
    DataContext.get_current().enable_progress_bars = False
    yield
    DataContext._set_current(DataContext())
