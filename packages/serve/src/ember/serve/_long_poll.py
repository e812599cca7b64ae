"""Versioned values the controller publishes and every process long-polls for.

A listener sends the versions it holds; the call returns as soon as any of them is
stale (or after LONG_POLL_TIMEOUT_S with nothing). Because each listener re-polls with
the versions it has applied, the controller also learns who has seen what: before it
drains a replica it waits until every live listener has seen the replica leave.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ember.serve._constants import LONG_POLL_TIMEOUT_S


class _Listener:
    __slots__ = ("acked", "seen", "wake")

    def __init__(self) -> None:
        self.acked: dict[Any, int] = {}
        self.seen = 0.0
        self.wake: asyncio.Event | None = None


class LongPollHost:
    """Owned by the controller; all methods run on its event loop."""

    def __init__(self) -> None:
        self._versions: dict[Any, int] = {}
        self._values: dict[Any, Any] = {}
        self._changed = asyncio.Event()
        self._listeners: dict[str, _Listener] = {}

    def publish(self, key: Any, value: Any) -> int:
        """Set `key` to `value` and wake listeners; returns the new version."""
        v = self._versions.get(key, 0) + 1
        self._versions[key] = v
        self._values[key] = value
        ev, self._changed = self._changed, asyncio.Event()
        ev.set()
        return v

    def version(self, key: Any) -> int:
        return self._versions.get(key, 0)

    def value(self, key: Any) -> Any:
        return self._values.get(key)

    def _stale(self, snapshot: dict[Any, int]) -> dict[Any, tuple[int, Any]]:
        return {k: (self._versions[k], self._values[k]) for k, v in snapshot.items()
                if k in self._versions and self._versions[k] != v}

    async def listen(self, listener_id: str, snapshot: dict[Any, int],
                     timeout: float = LONG_POLL_TIMEOUT_S) -> dict[Any, tuple[int, Any]]:
        lst = self._listeners.get(listener_id)
        if lst is None:
            lst = self._listeners[listener_id] = _Listener()
        if lst.wake is not None:
            lst.wake.set()  # a newer poll from the same listener supersedes the old one
        lst.acked = dict(snapshot)
        lst.seen = time.monotonic()
        wake = lst.wake = asyncio.Event()
        deadline = time.monotonic() + timeout
        try:
            while True:
                stale = self._stale(snapshot)
                if stale or wake.is_set():
                    return stale
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return {}
                changed = self._changed
                waiter = asyncio.ensure_future(changed.wait())
                woken = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait({waiter, woken}, timeout=remaining,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    woken.cancel()
        finally:
            lst.seen = time.monotonic()
            if lst.wake is wake:
                lst.wake = None

    def _all_acked(self, key: Any, version: int) -> bool:
        horizon = time.monotonic() - (LONG_POLL_TIMEOUT_S + 5.0)
        for lid, lst in list(self._listeners.items()):
            if lst.wake is None and lst.seen < horizon:
                del self._listeners[lid]  # gone: no poll for longer than a poll lasts
                continue
            if key in lst.acked and lst.acked[key] < version:
                return False
        return True

    async def wait_acked(self, key: Any, version: int, timeout: float) -> bool:
        """Wait until every live listener of `key` has applied `version`."""
        deadline = time.monotonic() + timeout
        while not self._all_acked(key, version):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True
