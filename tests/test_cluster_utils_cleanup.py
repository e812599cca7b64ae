"""A node whose start is interrupted (a test's time limit, Ctrl-C) is not left running."""

from __future__ import annotations

import os
import signal

import pytest

from ember.cluster_utils import Cluster


class Interrupted(Exception):
    pass


def _head_processes() -> set[int]:
    """Pids of node processes that are children of this process."""
    me = str(os.getpid())
    out = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z" and b"ember._cluster.head" in cmd:
            out.add(int(pid))
    return out


def test_an_interrupted_node_start_kills_the_node():
    def interrupt(*_):
        raise Interrupted

    old = signal.signal(signal.SIGALRM, interrupt)
    cluster = Cluster()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)  # while add_node waits for the node
        with pytest.raises(Interrupted):
            cluster.add_node(num_cpus=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        cluster.shutdown()
    assert cluster.head_node is None
    assert not _head_processes()
