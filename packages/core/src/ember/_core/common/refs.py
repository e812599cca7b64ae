"""Per-process reference counts of ObjectRefs and actor handles.

Each process counts its own live ObjectRef objects per id and tells the node manager only
on transitions (first ref in this process: ADD; last ref gone: DEL). Events (and
generators dropped unfinished) are queued, never sent from `__del__`, and flushed in
order ahead of the process's next message, so a borrowed ref is announced before the
container that kept it alive can be released.
"""

from __future__ import annotations

from collections import deque
from typing import TypeVar

T = TypeVar("T")


class LocalRefs:
    """Counts of live refs in this process; thread-safe enough under the GIL."""

    def __init__(self) -> None:
        self.counts: dict[bytes, int] = {}
        self.events: deque[tuple[bool, bytes]] = deque()
        # Generators dropped unfinished: (task id, index of the first item never read).
        self.dropped_generators: deque[tuple[bytes, int]] = deque()

    def add(self, object_id: bytes, announce: bool = True) -> None:
        n = self.counts.get(object_id, 0)
        self.counts[object_id] = n + 1
        if n == 0 and announce:
            self.events.append((True, object_id))

    def remove(self, object_id: bytes) -> None:
        n = self.counts.get(object_id, 0) - 1
        if n > 0:
            self.counts[object_id] = n
            return
        self.counts.pop(object_id, None)
        if n == 0:
            self.events.append((False, object_id))

    def drop_generator(self, task_id: bytes, next_index: int) -> None:
        """An ObjectRefGenerator was dropped before its end: its unread items are freed
        once this is flushed (after the ref events queued before it)."""
        self.dropped_generators.append((task_id, next_index))

    def drain_dropped_generators(self) -> list[tuple[bytes, int]]:
        return _drain(self.dropped_generators)

    def drain(self) -> list[tuple[bool, bytes]]:
        """The queued (is_add, id) events, oldest first; order matters to the manager."""
        return _drain(self.events)

    def clear(self) -> None:
        self.counts.clear()
        self.events.clear()
        self.dropped_generators.clear()


def _drain(q: deque[T]) -> list[T]:
    """Take what `q` holds, oldest first (other threads may append meanwhile)."""
    out = []
    while q:
        try:
            out.append(q.popleft())
        except IndexError:
            break
    return out


# The refs of the process the code runs in; the runtime swaps in a fresh one per session.
current = LocalRefs()
