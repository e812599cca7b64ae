"""Pool: the multiprocessing.Pool API over a set of actors, with chunked submission."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import TimeoutError
from typing import Any

__all__ = ["AsyncResult", "Pool", "TimeoutError"]


# Functions a pool worker keeps for the maps in progress (most recent last).
_KEPT_FUNCTIONS = 64


class _PoolWorker:
    def __init__(self, initializer: Callable | None, initargs: tuple) -> None:
        self._funcs: dict[int, Callable] = {}
        if initializer is not None:
            initializer(*initargs)

    def run_batch(self, key: int, func: Callable | None, batch: list, star: bool) -> list:
        """Run func over a chunk. A map sends its function with its first chunk to each
        worker only (calls to one actor run in order); later chunks name it by key."""
        if func is None:
            func = self._funcs[key]
        else:
            self._funcs[key] = func
            if len(self._funcs) > _KEPT_FUNCTIONS:
                del self._funcs[next(iter(self._funcs))]
        if star:
            return [func(*a) for a in batch]
        return [func(a) for a in batch]

    def apply(self, func: Callable, args: tuple, kwds: dict) -> Any:
        return func(*args, **kwds)


class AsyncResult:
    """The pending result of apply_async/map_async (multiprocessing's AsyncResult)."""

    def __init__(self, refs: list, single: bool, callback: Callable | None = None,
                 error_callback: Callable | None = None) -> None:
        self._refs = refs
        self._single = single
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._callback = callback
        self._error_callback = error_callback
        if callback is not None or error_callback is not None:
            threading.Thread(target=self._collect, args=(None,), daemon=True).start()

    def _collect(self, timeout: float | None) -> None:
        import ember
        from ember.exceptions import GetTimeoutError

        with self._lock:
            if self._done.is_set():
                return
            try:
                parts = ember.get(self._refs, timeout=timeout)
            except GetTimeoutError:
                raise TimeoutError() from None
            except BaseException as e:  # noqa: BLE001 - re-raised by get()
                self._error = e
            else:
                self._value = parts[0] if self._single else list(itertools.chain(*parts))
            self._done.set()
        if self._error is None and self._callback is not None:
            self._callback(self._value)
        elif self._error is not None and self._error_callback is not None:
            self._error_callback(self._error)

    def get(self, timeout: float | None = None) -> Any:
        self._collect(timeout)
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self, timeout: float | None = None) -> None:
        try:
            self._collect(timeout)
        except TimeoutError:
            pass

    def ready(self) -> bool:
        import ember

        if self._done.is_set():
            return True
        ready, _ = ember.wait(self._refs, num_returns=len(self._refs), timeout=0)
        return len(ready) == len(self._refs)

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        self.wait()
        return self._error is None


class Pool:
    """multiprocessing.Pool over `processes` actors (default: the cluster's CPUs)."""

    def __init__(self, processes: int | None = None, initializer: Callable | None = None,
                 initargs: tuple = (), maxtasksperchild: int | None = None,
                 context: Any = None, ray_address: str | None = None,
                 ray_remote_args: dict | None = None) -> None:
        import ember

        if not ember.is_initialized():
            ember.init(address=ray_address)
        if processes is None:
            processes = max(1, int(ember.cluster_resources().get("CPU", 1)))
        if processes < 1:
            raise ValueError("Number of processes must be at least 1")
        opts = {"num_cpus": 1, **(ray_remote_args or {})}
        cls = ember.remote(_PoolWorker).options(**opts)
        self._actors = [cls.remote(initializer, initargs) for _ in range(processes)]
        self._next = itertools.cycle(range(processes))
        self._keys = itertools.count()
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise ValueError("Pool not running")

    def _actor(self) -> Any:
        return self._actors[next(self._next)]

    def apply(self, func: Callable, args: tuple = (), kwds: dict | None = None) -> Any:
        return self.apply_async(func, args, kwds).get()

    def apply_async(self, func: Callable, args: tuple = (), kwds: dict | None = None,
                    callback: Callable | None = None,
                    error_callback: Callable | None = None) -> AsyncResult:
        self._check()
        ref = self._actor().apply.remote(func, tuple(args), dict(kwds or {}))
        return AsyncResult([ref], True, callback, error_callback)

    def _chunks(self, iterable: Iterable, chunksize: int | None) -> list[list]:
        items = list(iterable)
        if chunksize is None:
            chunksize, extra = divmod(len(items), len(self._actors) * 4)
            chunksize += bool(extra)
        chunksize = max(1, chunksize)
        return [items[i:i + chunksize] for i in range(0, len(items), chunksize)]

    def _submit_chunks(self, func: Callable, iterable: Iterable, chunksize: int | None,
                       star: bool) -> list:
        """One call per chunk, round robin; the function is serialized once per worker."""
        self._check()
        key = next(self._keys)
        sent: set[int] = set()
        refs = []
        for chunk in self._chunks(iterable, chunksize):
            i = next(self._next)
            refs.append(self._actors[i].run_batch.remote(
                key, None if i in sent else func, chunk, star))
            sent.add(i)
        return refs

    def _map_async(self, func: Callable, iterable: Iterable, chunksize: int | None,
                   star: bool, callback: Callable | None = None,
                   error_callback: Callable | None = None) -> AsyncResult:
        refs = self._submit_chunks(func, iterable, chunksize, star)
        return AsyncResult(refs, False, callback, error_callback)

    def map(self, func: Callable, iterable: Iterable, chunksize: int | None = None) -> list:
        return self._map_async(func, iterable, chunksize, False).get()

    def map_async(self, func: Callable, iterable: Iterable, chunksize: int | None = None,
                  callback: Callable | None = None,
                  error_callback: Callable | None = None) -> AsyncResult:
        return self._map_async(func, iterable, chunksize, False, callback, error_callback)

    def starmap(self, func: Callable, iterable: Iterable, chunksize: int | None = None) -> list:
        return self._map_async(func, iterable, chunksize, True).get()

    def starmap_async(self, func: Callable, iterable: Iterable, chunksize: int | None = None,
                      callback: Callable | None = None,
                      error_callback: Callable | None = None) -> AsyncResult:
        return self._map_async(func, iterable, chunksize, True, callback, error_callback)

    def imap(self, func: Callable, iterable: Iterable, chunksize: int = 1) -> Iterator:
        import ember

        refs = self._submit_chunks(func, iterable, chunksize, False)
        for ref in refs:
            yield from ember.get(ref)

    def imap_unordered(self, func: Callable, iterable: Iterable, chunksize: int = 1) -> Iterator:
        import ember

        pending = self._submit_chunks(func, iterable, chunksize, False)
        while pending:
            ready, pending = ember.wait(pending, num_returns=1)
            yield from ember.get(ready[0])

    def close(self) -> None:
        self._closed = True

    def terminate(self) -> None:
        import ember

        self._closed = True
        for a in self._actors:
            try:
                ember.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors = []

    def join(self) -> None:
        if not self._closed:
            raise ValueError("Pool is still running")

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.terminate()
