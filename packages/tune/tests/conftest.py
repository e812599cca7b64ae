"""Tune test fixtures: a 2-CPU cluster per test module; results under a temporary folder."""

from __future__ import annotations

import pytest

import ember


@pytest.fixture(scope="module")
def cluster():
    """An embedded 2-CPU cluster shared by the tests of one module."""
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    """Never write experiment results to the home directory from tests."""
    monkeypatch.setenv("EMBER_RESULTS_DIR", str(tmp_path / "ember_results"))
