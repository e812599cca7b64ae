"""Shared fixtures: a one-node cluster per test module, and a leak check for the session."""

from __future__ import annotations

import pytest
from procs import ember_processes

import ember


@pytest.fixture(scope="module")
def cluster():
    """An embedded cluster with 2 CPUs shared by the tests of one module."""
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


@pytest.fixture
def shutdown_after():
    """For tests that call ember.init() themselves with their own settings."""
    if ember.is_initialized():
        ember.shutdown()
    yield
    ember.shutdown()


@pytest.fixture(scope="session", autouse=True)
def no_leftover_processes():
    before = set(ember_processes())
    yield
    if ember.is_initialized():
        ember.shutdown()
    left = set(ember_processes()) - before
    assert not left, f"ember processes left behind: {sorted(left)}"
