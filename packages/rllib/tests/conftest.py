"""RLlib test fixtures: an embedded 2-CPU cluster for tests that start actors."""

from __future__ import annotations

import pytest

import ember


@pytest.fixture(scope="module")
def cluster():
    """An embedded 2-CPU cluster shared by the tests of one module; shut down after."""
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    """Never write Tune results to the home directory from tests."""
    monkeypatch.setenv("EMBER_RESULTS_DIR", str(tmp_path / "ember_results"))
