"""Waiting on a core before sleeping: a bounded spin that learns when not to.

On a virtual machine a process that sleeps in `poll()` costs its waker 10–25 µs (the
write that wakes it sends an interrupt to an idle core) and itself as much again before
it runs. A waiter that expects its answer within microseconds does better to stay on its
core and look again. `Spinner.spin(ready)` looks, for up to its limit, and returns what
`ready()` returned once that is true; the caller then sleeps only if it is not.

A yielding `Spinner` calls `sched_yield()` between looks, so a process that needs the core
(the writer it waits for, on a machine with fewer cores than spinners) gets it at once.

A spin costs a core, so a `Spinner` stops spinning where it does not pay: after a spin
that ran out (the answer takes longer than the limit) or that lost its core part way (a
gap between two looks at the clock: another process wanted it), it skips the next 1, then
2, 4 … up to 1,024 spins; each spin that ends with the answer halves that number again.

Thread-safety: a `Spinner`'s counters are plain integers; threads that share one may race
on them, which costs at most a spin more or less.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Spinner", "spin_limit", "wait_spin_s"]

T = TypeVar("T")

PREEMPTED_S = 50e-6  # a gap this long between two looks at the clock: the core was lost
MAX_BACKOFF = 1024


def _cores() -> int:
    """How many cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def spin_limit(env_var: str, default_s: float) -> float:
    """A spin's limit in seconds: `env_var` in µs if set (0: never spin), else
    `default_s` where the process may use two cores or more, else none (on one core a
    spinner only keeps its peer off it)."""
    value = os.environ.get(env_var)
    if value is not None:
        return max(0.0, float(value)) * 1e-6
    return default_s if _cores() >= 2 else 0.0


def wait_spin_s() -> float:
    """How long a process waiting for its next message (a driver in `get`, a worker or
    actor between calls) polls before it sleeps: 100 µs (EMBER_SPIN_US sets it)."""
    return spin_limit("EMBER_SPIN_US", 100e-6)


class Spinner:
    """Spins of at most `limit_s` seconds (0: never), backing off as the module says;
    `yielding`: give the core to any other runnable process between looks."""

    __slots__ = ("_backoff", "_skip", "_yield", "limit_s")

    def __init__(self, limit_s: float, yielding: bool = False) -> None:
        self.limit_s = limit_s
        self._yield = os.sched_yield if yielding else None
        self._skip = 0  # spins left to skip
        self._backoff = 0  # how many the next back-off skips

    def spin(self, ready: Callable[[], T]) -> T | None:
        """Call `ready()` until its result is true or the spin ends; that result, or None
        when the spin ran out, lost its core, or was skipped."""
        if not self.limit_s:
            return None
        if self._skip:
            self._skip -= 1
            return None
        clock = time.perf_counter
        now = clock()
        end = now + self.limit_s
        give = self._yield
        while True:
            if give is not None:
                give()
            got = ready()
            last, now = now, clock()
            if now - last > PREEMPTED_S:  # off core part way: someone else needs it
                self._back_off()
                return got or None
            if got:
                self._backoff >>= 1
                return got
            if now >= end:
                self._back_off()
                return None

    def _back_off(self) -> None:
        self._backoff = min(max(1, self._backoff * 2), MAX_BACKOFF)
        self._skip = self._backoff
