"""Processes a test started: ember's template and worker processes below a pid, and
whether a pid still runs. Imported by tests as `procs` (a name no other test folder uses,
unlike `conftest`)."""

from __future__ import annotations

import os

__all__ = ["ember_processes", "is_running"]


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
