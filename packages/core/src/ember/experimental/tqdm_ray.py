"""Progress bars from tasks and actors (Ray's `ray.experimental.tqdm_ray`).

    from ember.experimental.tqdm_ray import tqdm

    @ember.remote
    def f(name):
        for x in tqdm(range(100), desc=name):
            ...

In the driver a bar is an ordinary tqdm bar. In a task or actor, whose output reaches
the driver line by line (prefixed with the worker's pid), the bar's state is written as
a whole line at most every `flush_interval_s` seconds, and the final state when the bar
closes; workers need no tqdm package (as in Ray, where they only report state).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import ember

__all__ = ["safe_print", "tqdm"]


def _in_worker() -> bool:
    if not ember.is_initialized():
        return False
    ctx = ember.get_runtime_context()
    return bool(ctx.get_task_id() or ctx.get_actor_id())


def _real_tqdm() -> Any:
    """tqdm's bars, unless tqdm is missing or a module named tqdm.py shadows it (which
    must not be imported: it is likely the running script)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("tqdm")
        if spec is None or spec.submodule_search_locations is None:
            return None
        import tqdm.std

        return tqdm.std
    except ImportError:
        return None


class _LineBar:
    """A bar written as one line per refresh (a worker's output reaches the driver by
    line; a carriage return would glue refreshes together)."""

    def __init__(self, desc: str | None, total: int | None, unit: str,
                 flush_interval_s: float) -> None:
        self.desc, self.total, self.unit = desc or "", total, unit
        self.n = 0
        self.interval = flush_interval_s
        self.last = 0.0
        self.shown = -1  # the count last written
        self.closed = False

    def _line(self) -> str:
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            frac = min(1.0, self.n / self.total)
            bar = "#" * int(frac * 30)
            return f"{head}{frac * 100:3.0f}%|{bar:<30}| {self.n}/{self.total}"
        return f"{head}{self.n}{self.unit}"

    def refresh(self) -> None:
        self.last = time.monotonic()
        self.shown = self.n
        sys.stderr.write(self._line() + "\n")
        sys.stderr.flush()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.interval:
            self.refresh()

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.shown != self.n:
                self.refresh()


def safe_print(*args: Any, **kwargs: Any) -> None:
    """print() without tearing the bars on the screen."""
    real = _real_tqdm()
    if real is None:
        print(*args, **kwargs)
    else:
        real.tqdm.write(" ".join(str(a) for a in args), file=kwargs.get("file"))


class tqdm:  # noqa: N801 - Ray's (and tqdm's) name
    """A progress bar that works the same in the driver, tasks and actors."""

    def __init__(self, iterable: Iterable | None = None, desc: str | None = None,
                 total: int | None = None, unit: str | None = None,
                 position: int | None = None, flush_interval_s: float = 1.0) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):
                total = None
        self._iterable = iterable
        real = None if _in_worker() else _real_tqdm()
        if real is None:
            self._bar: Any = _LineBar(desc, total, unit or "it", flush_interval_s)
        else:
            self._bar = real.tqdm(desc=desc, total=total, unit=unit or "it",
                                  position=position, file=sys.stderr, dynamic_ncols=True)

    def set_description(self, desc: str) -> None:
        self._bar.set_description(desc)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    def refresh(self) -> None:
        self._bar.refresh()

    @property
    def total(self) -> int | None:
        return self._bar.total

    @total.setter
    def total(self, total: int) -> None:
        self._bar.total = total

    @property
    def n(self) -> int:
        return self._bar.n

    @n.setter
    def n(self, n: int) -> None:
        self._bar.n = n

    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise ValueError("No iterable provided")
        try:
            for x in self._iterable:
                self.update(1)
                yield x
        finally:
            self.close()
