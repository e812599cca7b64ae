"""A distributed FIFO queue backed by an async actor; any task or actor may use it."""

from __future__ import annotations

import asyncio
import queue as _stdqueue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ember.actor import ActorHandle

__all__ = ["Empty", "Full", "Queue"]


class Empty(_stdqueue.Empty):
    """Raised by get(block=False) / get_nowait() on an empty queue, or on timeout."""


class Full(_stdqueue.Full):
    """Raised by put(block=False) / put_nowait() on a full queue, or on timeout."""


class _QueueActor:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.queue: asyncio.Queue = asyncio.Queue(maxsize)

    def qsize(self) -> int:
        return self.queue.qsize()

    def empty(self) -> bool:
        return self.queue.empty()

    def full(self) -> bool:
        return self.queue.full()

    async def put(self, item: Any, timeout: float | None = None) -> None:
        try:
            await asyncio.wait_for(self.queue.put(item), timeout)
        except TimeoutError:
            raise Full from None

    async def put_batch(self, items: list, timeout: float | None = None) -> None:
        for item in items:
            await self.put(item, timeout)

    async def get(self, timeout: float | None = None) -> Any:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise Empty from None

    def put_nowait(self, item: Any) -> None:
        self.queue.put_nowait(item)

    def put_nowait_batch(self, items: list) -> None:
        if self.maxsize > 0 and len(items) + self.qsize() > self.maxsize:
            raise Full(f"Cannot add {len(items)} items to queue of size {self.qsize()} "
                       f"and maxsize {self.maxsize}.")
        for item in items:
            self.queue.put_nowait(item)

    def get_nowait(self) -> Any:
        return self.queue.get_nowait()

    def get_nowait_batch(self, num_items: int) -> list:
        if num_items > self.qsize():
            raise Empty(f"Cannot get {num_items} items from queue of size {self.qsize()}.")
        return [self.queue.get_nowait() for _ in range(num_items)]


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


class Queue:
    """Like queue.Queue, shared across the cluster (Ray's ember.util.queue.Queue)."""

    def __init__(self, maxsize: int = 0, hint_ip: str | None = None,
                 actor_options: dict | None = None) -> None:
        import ember

        self.maxsize = maxsize
        opts = {"num_cpus": 0, **(actor_options or {})}
        self.actor: ActorHandle | None = (
            ember.remote(_QueueActor).options(**opts).remote(maxsize))

    def _actor(self) -> ActorHandle:
        if self.actor is None:
            raise RuntimeError("This queue was shut down.")
        return self.actor

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        import ember

        return ember.get(self._actor().qsize.remote())

    def qsize(self) -> int:
        return self.size()

    def empty(self) -> bool:
        import ember

        return ember.get(self._actor().empty.remote())

    def full(self) -> bool:
        import ember

        return ember.get(self._actor().full.remote())

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        import ember

        if not block:
            self.put_nowait(item)
            return
        _check_timeout(timeout)
        ember.get(self._actor().put.remote(item, timeout))

    async def put_async(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if not block:
            await self._nowait(self._actor().put_nowait.remote(item), asyncio.QueueFull, Full)
            return
        _check_timeout(timeout)
        await self._actor().put.remote(item, timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        import ember

        if not block:
            return self.get_nowait()
        _check_timeout(timeout)
        return ember.get(self._actor().get.remote(timeout))

    async def get_async(self, block: bool = True, timeout: float | None = None) -> Any:
        if not block:
            return await self._nowait(self._actor().get_nowait.remote(), asyncio.QueueEmpty, Empty)
        _check_timeout(timeout)
        return await self._actor().get.remote(timeout)

    @staticmethod
    async def _nowait(ref: Any, raised: type[Exception], public: type[Exception]) -> Any:
        try:
            return await ref
        except raised:
            raise public from None

    def put_nowait(self, item: Any) -> None:
        import ember

        try:
            ember.get(self._actor().put_nowait.remote(item))
        except asyncio.QueueFull:
            raise Full from None

    def put_nowait_batch(self, items: list) -> None:
        import ember

        if not isinstance(items, list):
            raise TypeError("Argument 'items' must be a list")
        ember.get(self._actor().put_nowait_batch.remote(items))

    def get_nowait(self) -> Any:
        import ember

        try:
            return ember.get(self._actor().get_nowait.remote())
        except asyncio.QueueEmpty:
            raise Empty from None

    def get_nowait_batch(self, num_items: int) -> list:
        import ember

        if not isinstance(num_items, int) or num_items < 0:
            raise ValueError("'num_items' must be a nonnegative integer")
        return ember.get(self._actor().get_nowait_batch.remote(num_items))

    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        import ember

        if self.actor is not None:
            ember.kill(self.actor)
        self.actor = None
