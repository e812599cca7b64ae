"""Application metrics: Counter, Gauge and Histogram with Ray's signatures.

Define them anywhere (driver, task, actor); record with `inc`/`set`/`observe` and tags.
Each process keeps its values in memory and, at most every half second when something
changed, reports a snapshot to its node, which exports every process's series on the
dashboard's Prometheus endpoint (`/metrics`, names prefixed `ray_` as Ray does): counters
and histograms summed over processes, gauges the latest value set. A metric object
pickles by its definition, so one made in the driver can be used inside tasks.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

__all__ = ["Counter", "Gauge", "Histogram", "Metric"]

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_REPORT_PERIOD_S = 0.5

_lock = threading.Lock()
_metrics: dict[str, Metric] = {}
_state = {"dirty": False, "reporter_pid": 0}


class Metric:
    """The common part: name, description, tag keys and default tags."""

    _kind = "metric"

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("Empty name is not allowed. Please provide a metric name.")
        if not _NAME.match(name):
            raise ValueError(f"Invalid metric name {name!r}: use letters, digits, '_' and "
                             "':' (not starting with a digit).")
        if tag_keys is None:
            tag_keys = ()
        if not isinstance(tag_keys, tuple):
            raise TypeError(f"tag_keys should be a tuple type, got: {type(tag_keys)}")
        for key in tag_keys:
            if not isinstance(key, str):
                raise TypeError(f"Tag keys must be str, got {type(key)}.")
        self._name = name
        self._description = description
        self._tag_keys = tag_keys
        self._default_tags: dict[str, str] = {}
        # tag values (in tag_keys order) -> value (a list for histograms)
        self._values: dict[tuple[str, ...], Any] = {}
        self._stamp: dict[tuple[str, ...], float] = {}
        with _lock:
            existing = _metrics.get(name)
            if existing is not None and existing._kind == self._kind:
                self._values = existing._values  # the same series in this process
                self._stamp = existing._stamp
            _metrics[name] = self

    @property
    def info(self) -> dict[str, Any]:
        """name, description, tag_keys and default_tags."""
        return {"name": self._name, "description": self._description,
                "tag_keys": self._tag_keys, "default_tags": dict(self._default_tags)}

    def set_default_tags(self, default_tags: dict[str, str]) -> Metric:
        """Tags used when a record call does not give them; returns self."""
        for key, value in default_tags.items():
            if key not in self._tag_keys:
                raise ValueError(f"Unrecognized tag key {key!r}.")
            if not isinstance(value, str):
                raise TypeError(f"Tag values must be str, got {type(value)}.")
        self._default_tags = dict(default_tags)
        return self

    def _key(self, tags: dict[str, str] | None) -> tuple[str, ...]:
        merged = {**self._default_tags, **(tags or {})}
        for key, value in merged.items():
            if key not in self._tag_keys:
                raise ValueError(f"Unrecognized tag key {key!r}.")
            if not isinstance(value, str):
                raise TypeError(f"Tag values must be str, got {type(value)}.")
        missing = [k for k in self._tag_keys if k not in merged]
        if missing:
            raise ValueError(f"Missing value for tag key(s): {', '.join(missing)}.")
        return tuple(merged[k] for k in self._tag_keys)

    def _changed(self, key: tuple[str, ...]) -> None:
        self._stamp[key] = time.time()
        _state["dirty"] = True
        if _state["reporter_pid"] != os.getpid() and _connected():
            _start_reporter()

    def _spec(self) -> tuple:
        return (self._name, self._description, self._tag_keys)

    def __reduce__(self) -> tuple:
        return (_rebuild, (type(self), self._spec(), self._default_tags))

    def _snapshot(self) -> tuple:
        return (self._kind, self._name, self._description, self._tag_keys,
                [(k, _copy(v), self._stamp.get(k, 0.0)) for k, v in self._values.items()])


def _copy(v: Any) -> Any:
    return list(v) if isinstance(v, list) else v


def _rebuild(cls: type, spec: tuple, default_tags: dict) -> Metric:
    m = cls(*spec)
    m._default_tags = dict(default_tags)
    return m


class Counter(Metric):
    """A count that only goes up (Prometheus counter)."""

    _kind = "counter"

    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        if not isinstance(value, int | float):
            raise TypeError(f"value must be int or float, got {type(value)}.")
        if value <= 0:
            raise ValueError(f"value must be >0, got {value}")
        key = self._key(tags)
        with _lock:
            self._values[key] = self._values.get(key, 0.0) + value
            self._changed(key)


class Gauge(Metric):
    """A value that is set (Prometheus gauge)."""

    _kind = "gauge"

    def set(self, value: float | None, tags: dict[str, str] | None = None) -> None:
        if value is None:
            return
        if not isinstance(value, int | float):
            raise TypeError(f"value must be int or float, got {type(value)}.")
        key = self._key(tags)
        with _lock:
            self._values[key] = float(value)
            self._changed(key)


class Histogram(Metric):
    """Observations counted into buckets with the given upper boundaries."""

    _kind = "histogram"

    def __init__(self, name: str, description: str = "",
                 boundaries: list[float] | None = None,
                 tag_keys: tuple[str, ...] | None = None) -> None:
        if not boundaries:
            raise ValueError("boundaries must be a non-empty list of numbers")
        if any(b <= 0 for b in boundaries):
            raise ValueError(f"Invalid `boundaries` argument: {boundaries}. Use positive "
                             "values for boundaries.")
        if list(boundaries) != sorted(boundaries):
            raise ValueError("boundaries must be sorted in ascending order")
        self.boundaries = [float(b) for b in boundaries]
        super().__init__(name, description, tag_keys)

    def _spec(self) -> tuple:
        return (self._name, self._description, self.boundaries, self._tag_keys)

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        if not isinstance(value, int | float):
            raise TypeError(f"value must be int or float, got {type(value)}.")
        key = self._key(tags)
        with _lock:
            # [count per bucket (+Inf last)..., sum, count]
            cell = self._values.get(key)
            if cell is None:
                cell = self._values[key] = [0] * (len(self.boundaries) + 1) + [0.0, 0]
            i = 0
            while i < len(self.boundaries) and value > self.boundaries[i]:
                i += 1
            cell[i] += 1
            cell[-2] += value
            cell[-1] += 1
            self._changed(key)

    def _snapshot(self) -> tuple:
        kind, name, desc, keys, samples = super()._snapshot()
        return (kind, name, desc, keys, samples, self.boundaries)


def snapshot() -> list[tuple]:
    """This process's metrics, as reported to its node."""
    with _lock:
        _state["dirty"] = False
        return [m._snapshot() for m in _metrics.values() if m._values]


def _report() -> bool:
    from ember._core.caller import context

    client = context.current_client()
    if client is None:
        return False
    snap = snapshot()
    send = getattr(client, "send", None)
    try:
        if send is not None:  # a worker or attached driver: one-way, no reply awaited
            from ember._core.common import messages

            send(messages.Request(0, "metrics_report", (os.getpid(), snap)))
        else:
            client.call("metrics_report", os.getpid(), snap)
    except (OSError, RuntimeError):
        return False
    return True


def _connected() -> bool:
    """Whether this process belongs to a cluster yet. Before `init()` no reporter thread
    starts: a driver with a second thread cannot fork its worker template cheaply;
    `init()` starts it then if something was recorded."""
    from ember._core.caller import context

    return context.session is not None


def start_reporting() -> None:
    """Called by `init()`: report what was recorded before it."""
    if _state["dirty"] and _state["reporter_pid"] != os.getpid():
        _start_reporter()


def _forget_in_child() -> None:
    """A forked process (the worker template, its workers) starts from zero: what its
    parent recorded is the parent's to report, not counted again here."""
    global _lock
    _lock = threading.Lock()
    for m in _metrics.values():
        m._values.clear()
        m._stamp.clear()
    _state["dirty"] = False


os.register_at_fork(after_in_child=_forget_in_child)


def _start_reporter() -> None:
    _state["reporter_pid"] = os.getpid()

    def loop() -> None:
        while True:
            time.sleep(_REPORT_PERIOD_S)
            if _state["dirty"]:
                _report()

    threading.Thread(target=loop, name="ember-metrics", daemon=True).start()
