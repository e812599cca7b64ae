"""Progress bars from tasks and actors (Ray's `ray.experimental.tqdm_ray`).

    from ember.experimental.tqdm_ray import tqdm

    @ember.remote
    def f(name):
        for x in tqdm(range(100), desc=name):
            ...

In the driver a bar is an ordinary tqdm bar. In a task or actor, whose output reaches
the driver line by line (prefixed with the worker's pid), each refresh is written as a
whole line at most every `flush_interval_s` seconds, and the final state when the bar
closes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import tqdm as _tqdm

import ember

__all__ = ["safe_print", "tqdm"]


def _in_worker() -> bool:
    if not ember.is_initialized():
        return False
    ctx = ember.get_runtime_context()
    return bool(ctx.get_task_id() or ctx.get_actor_id())


class _Lines:
    """A stream that ends each tqdm refresh with a newline (a worker's output is
    forwarded by line, and a carriage return would glue refreshes together)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, s: str) -> int:
        text = "\n".join(part for part in s.replace("\r", "\n").split("\n") if part.strip())
        if text:
            self.out.write(text + "\n")
        return len(s)

    def flush(self) -> None:
        self.out.flush()


def safe_print(*args: Any, **kwargs: Any) -> None:
    """print() without tearing the bars on the screen."""
    _tqdm.tqdm.write(" ".join(str(a) for a in args), file=kwargs.get("file"))


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
        worker = _in_worker()
        self._bar = _tqdm.tqdm(
            desc=desc, total=total, unit=unit or "it", position=position,
            file=_Lines(sys.stderr) if worker else sys.stderr,
            mininterval=flush_interval_s, ascii=worker, dynamic_ncols=not worker,
            ncols=None if not worker else 80, leave=True)

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
