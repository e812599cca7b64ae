"""Finished tasks, kept compactly for the state API, the dashboard and the timeline.

A million finished tasks must fit in a node manager cheaply, so rows are not dicts:
each task takes 20 bytes of id, three float64 times, a pid and the index of its
"shape" (name, state, type, actor, resources), of which a cluster has few distinct ones.
That is about 55 bytes a task. When full, the oldest rows are overwritten (a ring).
Filtering and counting run over the columns with numpy; only a page becomes dicts.
"""

from __future__ import annotations

import os
from array import array
from typing import Any

DEFAULT_CAPACITY = 1_000_000
_ID_BYTES = 20  # a task id (ids.TASK_ID_SIZE)
# Columns a filter can use without building rows, and where the value is found.
_SHAPE_KEYS = ("name", "state", "type", "actor_id", "node_id")


def func_or_class_name(name: str, actor_call: bool) -> str:
    """Ray's `func_or_class_name` of a task row: the function ("f" for "mod.<locals>.f"),
    or "Class.method" for an actor call (from the task's name)."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if actor_call and len(parts) > 1 else parts[-1]


def capacity() -> int:
    """How many finished tasks a node keeps (EMBER_TASK_HISTORY, default 1,000,000)."""
    return max(1, int(os.environ.get("EMBER_TASK_HISTORY", DEFAULT_CAPACITY)))


class TaskHistory:
    """A ring of finished-task rows. Not thread-safe: used under the node's lock."""

    def __init__(self, node_id: str, cap: int | None = None) -> None:
        self.node_id = node_id
        self.cap = capacity() if cap is None else cap
        self.ids = bytearray()
        self.times = array("d")  # created, started, ended per row
        self.pids = array("l")
        self.shape_of = array("l")
        self.shapes: list[tuple] = []  # (name, state, type, actor_id hex|None, resources)
        self._shape_index: dict[tuple, int] = {}
        self.errors: dict[int, tuple[str, str]] = {}  # row -> (type, message), failed ones
        self.start = 0  # index of the oldest row once the ring has wrapped
        self.dropped = 0  # rows overwritten so far

    def __len__(self) -> int:
        return len(self.pids)

    def add(self, task_id: bytes, name: str, state: str, type_: str, actor_id: bytes | None,
            resources: dict, created: float, started: float, ended: float, pid: int,
            error: tuple[str, str] | None = None) -> None:
        key = (name, state, type_, actor_id, id(resources))
        shape = self._shape_index.get(key)
        if shape is None:
            shape = self._shape_index[key] = len(self.shapes)
            # The resources dict itself is kept: its id stays unique while it lives.
            self.shapes.append((name, state, type_, actor_id.hex() if actor_id else None,
                                resources))
        tid = task_id[:_ID_BYTES].ljust(_ID_BYTES, b"\0")
        if len(self.pids) < self.cap:
            if error is not None:
                self.errors[len(self.pids)] = error
            self.ids += tid
            self.times.extend((created, started, ended))
            self.pids.append(pid)
            self.shape_of.append(shape)
            return
        i = self.start
        self.errors.pop(i, None)
        if error is not None:
            self.errors[i] = error
        self.ids[i * _ID_BYTES:(i + 1) * _ID_BYTES] = tid
        self.times[3 * i:3 * i + 3] = array("d", (created, started, ended))
        self.pids[i] = pid
        self.shape_of[i] = shape
        self.start = (i + 1) % self.cap
        self.dropped += 1

    def _order(self) -> Any:
        """Physical row numbers, oldest first (numpy)."""
        import numpy as np

        n = len(self.pids)
        return (np.arange(n) + self.start) % n if self.start else np.arange(n)

    def row(self, i: int) -> dict:
        name, state, type_, actor_id, resources = self.shapes[self.shape_of[i]]
        created, started, ended = self.times[3 * i:3 * i + 3]
        pid = self.pids[i]
        return {"task_id": bytes(self.ids[i * _ID_BYTES:(i + 1) * _ID_BYTES]).hex(),
                "name": name, "state": state, "type": type_, "actor_id": actor_id,
                "func_or_class_name": func_or_class_name(name, type_ == "ACTOR_TASK"),
                "worker_pid": pid or None, "required_resources": dict(resources),
                "node_id": self.node_id, "creation_time_ms": int(created * 1000),
                "start_time_ms": int(started * 1000) or None,
                "end_time_ms": int(ended * 1000) or None, "pid": pid or None,
                "start_time_us": int(started * 1e6) or None,
                "end_time_us": int(ended * 1e6) or None,
                **self._error_fields(i)}

    def _error_fields(self, i: int) -> dict:
        error = self.errors.get(i)
        return {} if error is None else {"error_type": error[0], "error_message": error[1]}

    def select(self, filters: list[tuple[str, str, Any]]) -> Any:
        """Physical row numbers matching every filter, oldest first (numpy array).

        Filters are evaluated on the columns in storage order; only the boolean result
        is put in age order."""
        import numpy as np

        order = self._order()
        n = len(order)
        if not filters or not n:
            return order
        mask = np.ones(n, dtype=bool)
        shapes = None
        for key, op, value in filters:
            value = str(value)
            if key in _SHAPE_KEYS:
                if key == "node_id":
                    hit = np.full(n, self.node_id == value)
                else:
                    if shapes is None:
                        # np.array copies: a numpy view would pin the array.array's
                        # buffer, and an append (a resize) would then fail while, say,
                        # an exception's frame kept the view alive.
                        shapes = np.array(self.shape_of)
                    pos = _SHAPE_KEYS.index(key)
                    ok = [i for i, s in enumerate(self.shapes) if str(s[pos]) == value]
                    hit = np.isin(shapes, ok)
            elif key in ("pid", "worker_pid"):
                hit = np.array(self.pids) == int(value) if value.isdigit() \
                    else np.zeros(n, bool)
            elif key == "task_id":
                ids = np.frombuffer(bytes(self.ids), dtype=f"S{_ID_BYTES}")
                try:
                    want = bytes.fromhex(value).ljust(_ID_BYTES, b"\0")
                except ValueError:
                    want = b""
                # numpy strips trailing NULs from S16 values: compare the same way.
                hit = ids == np.bytes_(want.rstrip(b"\0"))
            else:  # any other key: decided row by row on dicts (slow path)
                hit = np.array([str(self.row(i).get(key)) == value for i in range(n)],
                               dtype=bool)
            mask &= hit if op == "=" else ~hit
        return order[mask[order]]

    def page(self, filters: list[tuple[str, str, Any]], offset: int,
             limit: int) -> tuple[int, list[dict]]:
        """(rows matching, the page of them as dicts)."""
        chosen = self.select(filters)
        return len(chosen), [self.row(int(i)) for i in chosen[offset:offset + limit]]

    def rows(self) -> list[dict]:
        return [self.row(int(i)) for i in self._order()]

    def counts(self) -> dict[tuple[str, str], int]:
        """{(name, state): rows} over the whole history."""
        import numpy as np

        if not len(self.pids):
            return {}
        per_shape = np.bincount(np.array(self.shape_of), minlength=len(self.shapes))
        out: dict[tuple[str, str], int] = {}
        for shape, n in enumerate(per_shape.tolist()):
            if n:
                key = (self.shapes[shape][0], self.shapes[shape][1])
                out[key] = out.get(key, 0) + n
        return out

    def memory_bytes(self) -> int:
        """What the columns hold (not counting the few shapes)."""
        return (len(self.ids) + self.times.itemsize * len(self.times)
                + self.pids.itemsize * len(self.pids)
                + self.shape_of.itemsize * len(self.shape_of))


__all__ = ["DEFAULT_CAPACITY", "TaskHistory", "capacity", "func_or_class_name"]
