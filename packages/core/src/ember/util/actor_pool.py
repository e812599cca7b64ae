"""ActorPool: run work over a fixed set of actors, in order or as results arrive."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["ActorPool"]

_TIMEOUT = "Timed out waiting for result"


def _key(future: Any) -> Any:
    """A call with num_returns > 1 gives a list of refs: keyed by their tuple."""
    return tuple(future) if isinstance(future, list) else future


class ActorPool:
    """Schedule `fn(actor, value)` calls on idle actors (Ray's ActorPool semantics).

    `fn` returns an ObjectRef (or a list of them, for num_returns > 1); the actor is busy
    until that result is taken with get_next() / get_next_unordered().
    """

    def __init__(self, actors: list) -> None:
        self._idle_actors = list(actors)
        self._future_to_actor: dict[Any, tuple[int, Any]] = {}
        self._index_to_future: dict[int, Any] = {}
        self._next_task_index = 0
        self._next_return_index = 0
        self._pending_submits: list[tuple[Callable, Any]] = []

    def map(self, fn: Callable[[Any, Any], Any], values: Iterable) -> Iterator[Any]:
        """Submit every value now; the iterator gives the results in their order."""
        self._drain(ordered=True)
        for v in values:
            self.submit(fn, v)

        def results() -> Iterator[Any]:
            while self.has_next():
                yield self.get_next()

        return results()

    def map_unordered(self, fn: Callable[[Any, Any], Any], values: Iterable) -> Iterator[Any]:
        """Submit every value now; the iterator gives results as they finish."""
        self._drain(ordered=False)
        for v in values:
            self.submit(fn, v)

        def results() -> Iterator[Any]:
            while self.has_next():
                yield self.get_next_unordered()

        return results()

    def _drain(self, ordered: bool) -> None:
        """Drop the results of earlier submissions (Ray's map() does the same)."""
        while self.has_next():
            try:
                if ordered:
                    self.get_next(timeout=0, ignore_if_timedout=True)
                else:
                    self.get_next_unordered(timeout=0)
            except TimeoutError:
                pass

    def submit(self, fn: Callable[[Any, Any], Any], value: Any) -> None:
        """Run fn(actor, value) on an idle actor, or queue it until one is free."""
        if self._idle_actors:
            actor = self._idle_actors.pop()
            future = fn(actor, value)
            self._future_to_actor[_key(future)] = (self._next_task_index, actor)
            self._index_to_future[self._next_task_index] = future
            self._next_task_index += 1
        else:
            self._pending_submits.append((fn, value))

    def has_next(self) -> bool:
        return bool(self._future_to_actor)

    def get_next(self, timeout: float | None = None, ignore_if_timedout: bool = False) -> Any:
        """The next result in submission order. On timeout: TimeoutError; with
        ignore_if_timedout the result is also dropped (its actor is freed)."""
        import ember

        if not self.has_next():
            raise StopIteration("No more results to get")
        if self._next_return_index >= self._next_task_index:
            raise ValueError("It is not allowed to call get_next() after get_next_unordered().")
        future = self._index_to_future[self._next_return_index]
        timed_out = False
        if timeout is not None:
            ready, _ = ember.wait(list(_key(future)) if isinstance(future, list) else [future],
                                  num_returns=len(future) if isinstance(future, list) else 1,
                                  timeout=timeout)
            if not ready or (isinstance(future, list) and len(ready) < len(future)):
                if not ignore_if_timedout:
                    raise TimeoutError(_TIMEOUT)
                timed_out = True
        del self._index_to_future[self._next_return_index]
        self._next_return_index += 1
        _, actor = self._future_to_actor.pop(_key(future))
        self._return_actor(actor)
        if timed_out:
            raise TimeoutError(f"{_TIMEOUT}. The task {future} has been ignored.")
        return ember.get(future)

    def get_next_unordered(self, timeout: float | None = None,
                           ignore_if_timedout: bool = False) -> Any:
        """Whichever next result finishes first."""
        import ember

        if not self.has_next():
            raise StopIteration("No more results to get")
        keys = list(self._future_to_actor)
        first = {(k[0] if isinstance(k, tuple) else k): k for k in keys}
        ready, _ = ember.wait(list(first), num_returns=1, timeout=timeout)
        if not ready:
            if not ignore_if_timedout:
                raise TimeoutError(_TIMEOUT)
            key = keys[0]
        else:
            key = first[ready[0]]
        index, actor = self._future_to_actor.pop(key)
        self._return_actor(actor)
        future = self._index_to_future.pop(index)
        self._next_return_index = max(self._next_return_index, index + 1)
        if not ready:
            raise TimeoutError(f"{_TIMEOUT}. The task {future} has been ignored.")
        return ember.get(future)

    def _return_actor(self, actor: Any) -> None:
        self._idle_actors.append(actor)
        if self._pending_submits:
            self.submit(*self._pending_submits.pop(0))

    def has_free(self) -> bool:
        """Whether an actor is idle and nothing is waiting for one."""
        return bool(self._idle_actors) and not self._pending_submits

    def pop_idle(self) -> Any | None:
        """Take an idle actor out of the pool (None if none is free)."""
        return self._idle_actors.pop() if self.has_free() else None

    def push(self, actor: Any) -> None:
        """Add an actor to the pool; it takes queued work at once."""
        busy = [a for _, a in self._future_to_actor.values()]
        if actor in self._idle_actors or actor in busy:
            raise ValueError("Actor already belongs to current ActorPool")
        self._return_actor(actor)
