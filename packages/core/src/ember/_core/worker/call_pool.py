"""The thread pool of one concurrency group of a threaded actor.

Unlike `concurrent.futures.ThreadPoolExecutor`, which reuses an idle thread before it
starts another, each of the first `size` calls gets a thread of its own, and later calls
go to the thread idle the longest. As in Ray, where a group's threads all exist and take
turns, every thread of the group is used and stays alive for the actor's life, so
`threading.local` data set by one call is there for the calls that later run on its
thread, and calls that happen to arrive one after another still run on different threads.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

_log = logging.getLogger("ember")

Call = tuple[Callable[..., Any], tuple[Any, ...]]


class CallPool:
    """Runs submitted calls on at most `size` threads, started as calls come."""

    def __init__(self, size: int, name: str) -> None:
        self.size = max(1, size)
        self.name = name
        self._lock = threading.Lock()
        self._started = 0
        self._idle: deque[SimpleQueue[Call]] = deque()  # longest idle first
        self._backlog: deque[Call] = deque()  # calls waiting for a free thread

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on a thread of the pool (its exceptions are logged)."""
        with self._lock:
            if self._started < self.size:
                self._started += 1
                threading.Thread(target=self._work, args=((fn, args),), daemon=True,
                                 name=f"{self.name}_{self._started - 1}").start()
            elif self._idle:
                self._idle.popleft().put((fn, args))
            else:
                self._backlog.append((fn, args))

    def _work(self, call: Call) -> None:
        inbox: SimpleQueue[Call] = SimpleQueue()
        while True:
            fn, args = call
            try:
                fn(*args)
            except BaseException:  # noqa: BLE001 - one call's failure ends no thread
                _log.exception("an actor call on thread %s failed",
                               threading.current_thread().name)
            with self._lock:
                if self._backlog:
                    call = self._backlog.popleft()
                    continue
                self._idle.append(inbox)
            call = inbox.get()


__all__ = ["CallPool"]
