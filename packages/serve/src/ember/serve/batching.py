"""@serve.batch: gather concurrent calls into one call on a list (dynamic batching).

Each caller passes one item and awaits one result; the decorated `async def` receives a
list of up to `max_batch_size` items, collected for at most `batch_wait_timeout_s` after
the first, and returns (or, as an async generator, yields) a list of the same length.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["batch"]


class _Item:
    __slots__ = ("args", "kwargs", "future", "stream")

    def __init__(self, args: tuple, kwargs: dict, future: asyncio.Future,
                 stream: asyncio.Queue | None) -> None:
        self.args = args
        self.kwargs = kwargs
        self.future = future
        self.stream = stream


_END = object()


class _BatchQueue:
    """Collects items on one event loop and runs the batch function on them."""

    def __init__(self, fn: Callable, owner: Any, wrapper: Any) -> None:
        self.fn = fn
        self.owner = owner
        self.wrapper = wrapper  # holds the (changeable) limits
        self.items: deque[_Item] = deque()
        self.event = asyncio.Event()
        self.is_gen = inspect.isasyncgenfunction(fn)
        self.sem = asyncio.Semaphore(wrapper._max_concurrent_batches)
        self.task = asyncio.get_running_loop().create_task(self._loop())

    def put(self, item: _Item) -> None:
        self.items.append(item)
        self.event.set()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self.items:
                self.event.clear()
                await self.event.wait()
            max_size = self.wrapper._max_batch_size
            deadline = loop.time() + self.wrapper._batch_wait_timeout_s
            while len(self.items) < max_size:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self.event.clear()
                try:
                    await asyncio.wait_for(self.event.wait(), remaining)
                except TimeoutError:
                    break
            batch = [self.items.popleft() for _ in range(min(max_size, len(self.items)))]
            batch = [b for b in batch if not b.future.done()]
            if not batch:
                continue
            await self.sem.acquire()
            task = loop.create_task(self._run(batch))
            task.add_done_callback(lambda _t: self.sem.release())

    def _call_args(self, batch: list[_Item]) -> tuple[list, dict]:
        n = len(batch[0].args)
        args = [[b.args[i] for b in batch] for i in range(n)]
        kwargs = {k: [b.kwargs[k] for b in batch] for k in batch[0].kwargs}
        if self.owner is not None:
            args.insert(0, self.owner)
        return args, kwargs

    async def _run(self, batch: list[_Item]) -> None:
        try:
            args, kwargs = self._call_args(batch)
            if self.is_gen:
                await self._run_gen(batch, args, kwargs)
                return
            results = await self.fn(*args, **kwargs)
            # Any sized sequence (a list, a tuple, a numpy array...), one result per call.
            sized = hasattr(results, "__len__") and hasattr(results, "__iter__") and \
                not isinstance(results, str | bytes | dict)
            if not sized or len(results) != len(batch):
                got = len(results) if sized else type(results).__name__
                raise TypeError(f"Batched function {self.fn.__name__!r} must return a list "
                                f"of {len(batch)} results (one per call), got {got}.")
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)
        except BaseException as e:  # noqa: BLE001 - every caller of the batch sees it
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(e)
                if item.stream is not None:
                    item.stream.put_nowait((False, e))

    async def _run_gen(self, batch: list[_Item], args: list, kwargs: dict) -> None:
        open_ = set(range(len(batch)))
        async for step in self.fn(*args, **kwargs):
            if not isinstance(step, list | tuple) or len(step) != len(batch):
                raise TypeError(f"Batched generator {self.fn.__name__!r} must yield lists "
                                f"of {len(batch)} results.")
            for i, r in enumerate(step):
                if i not in open_:
                    continue
                if r is StopIteration or isinstance(r, StopIteration):
                    open_.discard(i)
                    batch[i].stream.put_nowait((True, _END))
                else:
                    batch[i].stream.put_nowait((True, r))
        for i in open_:
            batch[i].stream.put_nowait((True, _END))


def batch(_func: Callable | None = None, *, max_batch_size: int = 10,
          batch_wait_timeout_s: float = 0.01, max_concurrent_batches: int = 1,
          batch_size_fn: Callable | None = None) -> Any:
    """Batch concurrent calls of an `async def` method or function (see the module doc)."""
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
        raise ValueError(f"max_batch_size must be an int >= 1, got {max_batch_size!r}.")
    if not isinstance(batch_wait_timeout_s, int | float) or batch_wait_timeout_s < 0:
        raise ValueError(f"batch_wait_timeout_s must be a number >= 0, got "
                         f"{batch_wait_timeout_s!r}.")
    if not isinstance(max_concurrent_batches, int) or max_concurrent_batches < 1:
        raise ValueError("max_concurrent_batches must be an int >= 1.")

    def decorator(fn: Callable) -> Callable:
        if not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
            raise TypeError("Functions decorated with @serve.batch must be 'async def'.")
        params = list(inspect.signature(fn).parameters)
        is_method = bool(params) and params[0] == "self"
        attr = f"__ember_serve_batch_{fn.__name__}_{id(fn)}"
        free_queues: dict[int, _BatchQueue] = {}

        def queue_for(owner: Any) -> _BatchQueue:
            loop_id = id(asyncio.get_running_loop())
            if owner is None:
                q = free_queues.get(loop_id)
                if q is None:
                    q = free_queues[loop_id] = _BatchQueue(fn, None, wrapper)
                return q
            q = owner.__dict__.get(attr)
            if q is None:
                q = _BatchQueue(fn, owner, wrapper)
                owner.__dict__[attr] = q
            return q

        def split(args: tuple) -> tuple[Any, tuple]:
            return (args[0], args[1:]) if is_method else (None, args)

        if inspect.isasyncgenfunction(fn):
            @functools.wraps(fn)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                owner, rest = split(args)
                stream: asyncio.Queue = asyncio.Queue()
                fut = asyncio.get_running_loop().create_future()
                queue_for(owner).put(_Item(rest, kwargs, fut, stream))
                while True:
                    ok, value = await stream.get()
                    if not ok:
                        raise value
                    if value is _END:
                        return
                    yield value
        else:
            @functools.wraps(fn)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                owner, rest = split(args)
                fut = asyncio.get_running_loop().create_future()
                queue_for(owner).put(_Item(rest, kwargs, fut, None))
                return await fut

        wrapper._max_batch_size = max_batch_size
        wrapper._batch_wait_timeout_s = batch_wait_timeout_s
        wrapper._max_concurrent_batches = max_concurrent_batches
        wrapper._batch_size_fn = batch_size_fn

        def set_max_batch_size(n: int) -> None:
            wrapper._max_batch_size = int(n)

        def set_batch_wait_timeout_s(t: float) -> None:
            wrapper._batch_wait_timeout_s = float(t)

        wrapper.set_max_batch_size = set_max_batch_size
        wrapper.set_batch_wait_timeout_s = set_batch_wait_timeout_s
        wrapper._get_max_batch_size = lambda: wrapper._max_batch_size
        wrapper._get_batch_wait_timeout_s = lambda: wrapper._batch_wait_timeout_s
        return wrapper

    if _func is not None:
        return decorator(_func)
    return decorator
