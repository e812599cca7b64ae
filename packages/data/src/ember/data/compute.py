"""Compute strategies for map operators: stateless tasks or a pool of actors.

Most code passes `concurrency=` instead: an int (fixed pool / cap on tasks in flight)
or, for callable classes, a (min, max) or (min, max, initial) tuple for an autoscaling
actor pool.
"""

from __future__ import annotations

import inspect
from typing import Any

from ember.data._logical import Compute

__all__ = ["ActorPoolStrategy", "TaskPoolStrategy", "resolve_compute"]


class TaskPoolStrategy:
    """Run the function as ember tasks; `size` caps the tasks in flight."""

    def __init__(self, size: int | None = None) -> None:
        if size is not None and size < 1:
            raise ValueError(f"size must be >= 1, got {size}.")
        self.size = size


class ActorPoolStrategy:
    """Run a callable class on a pool of min_size..max_size actors."""

    def __init__(self, *, size: int | None = None, min_size: int | None = None,
                 max_size: int | None = None,
                 max_tasks_in_flight_per_actor: int | None = None) -> None:
        if size is not None:
            if min_size is not None or max_size is not None:
                raise ValueError("Specify either size or min_size/max_size, not both.")
            min_size = max_size = size
        self.min_size = min_size or 1
        self.max_size = max_size
        if self.max_size is not None and self.max_size < self.min_size:
            raise ValueError(f"min_size ({self.min_size}) must be <= max_size "
                             f"({self.max_size}).")
        self.max_tasks_in_flight_per_actor = max_tasks_in_flight_per_actor


def resolve_compute(fn: Any, compute: Any, concurrency: Any) -> Compute:
    """The Compute for a map: from `compute`, else `concurrency`, else the fn's kind."""
    is_class = inspect.isclass(fn)
    if isinstance(compute, ActorPoolStrategy) or compute == "actors":
        if not is_class and fn is not None:
            raise ValueError("An actor pool needs a callable class, not a function.")
        if isinstance(compute, ActorPoolStrategy):
            return Compute(True, compute.min_size, compute.max_size,
                           compute.max_tasks_in_flight_per_actor)
        return Compute(True, 1, None)
    if isinstance(compute, TaskPoolStrategy) or compute == "tasks":
        if is_class:
            raise ValueError("A callable class must run on an actor pool; pass "
                             "concurrency=N (or compute=ActorPoolStrategy(...)).")
        return Compute(False, 1, compute.size if isinstance(compute, TaskPoolStrategy)
                       else concurrency)
    if compute is not None:
        raise ValueError(f"Unknown compute strategy {compute!r}.")
    if is_class:
        if concurrency is None:
            return Compute(True, 1, None)
        if isinstance(concurrency, int):
            return Compute(True, concurrency, concurrency)
        if isinstance(concurrency, tuple) and len(concurrency) in (2, 3):
            lo, hi = concurrency[0], concurrency[1]
            start = concurrency[2] if len(concurrency) == 3 else lo
            if not (1 <= lo <= start <= hi):
                raise ValueError(f"concurrency {concurrency} must satisfy "
                                 "1 <= min <= initial <= max.")
            return Compute(True, start, hi)
        raise ValueError(f"concurrency must be an int or a (min, max) tuple, got "
                         f"{concurrency!r}.")
    if concurrency is None:
        return Compute(False)
    if isinstance(concurrency, int) and concurrency >= 1:
        return Compute(False, 1, concurrency)
    raise ValueError("For a function, concurrency must be a positive int (tuples are for "
                     f"callable classes on an actor pool); got {concurrency!r}.")
