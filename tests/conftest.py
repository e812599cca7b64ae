"""Shared fixtures: a one-node cluster per test module, and a leak check for the session."""

from __future__ import annotations

import os

import pytest

import ember


def ember_processes(root: int | None = None) -> list[int]:
    """Pids of live ember template/worker processes descended from `root` (default: us)."""
    root = os.getpid() if root is None else root
    parent: dict[int, int] = {}
    candidates = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(pid)] = int(fields[1])
        if cmd.startswith(b"ember-") and fields[0] != "Z":
            candidates.append(int(pid))
    out = []
    for pid in candidates:
        p = pid
        while p > 1:
            p = parent.get(p, 0)
            if p == root:
                out.append(pid)
                break
    return out


def is_running(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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
