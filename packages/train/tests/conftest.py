"""Train test fixtures: a 2-CPU cluster per test module; results under a temporary folder."""

from __future__ import annotations

import os

import pytest

import ember

# Tiny models: one thread per worker keeps 2-core machines responsive.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def cluster():
    """An embedded 2-CPU cluster shared by the tests of one module."""
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    """Never write results to the home directory from tests."""
    monkeypatch.setenv("EMBER_RESULTS_DIR", str(tmp_path / "ember_results"))
