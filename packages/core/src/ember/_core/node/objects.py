"""The node manager's object table: values, reference counts, waiters, store placement.

An entry lives while anything references it: a process holding ObjectRefs to it (each
process counts once), a pending task that takes it as an argument, or another object whose
value contains it. When the count reaches zero the value is freed (its shared-memory
block deleted) and the objects it contains are released in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ember._core.common import serialization
from ember._core.common.constants import INLINE_MAX
from ember.exceptions import ObjectLostError, ObjectStoreFullError

PENDING = 0
READY = 1

# Values up to this size travel inside messages and never touch shared memory.


class RemoteCopy:
    """Where a result that stayed in a peer's store lives, and the task that made it."""

    __slots__ = ("node_id", "size", "contained", "task", "pulling", "failures")

    def __init__(self, node_id: str, size: int, contained: list[bytes], task: Any) -> None:
        self.node_id = node_id
        self.size = size
        self.contained = contained
        self.task = task
        self.pulling = False
        self.failures = 0


class Entry:
    __slots__ = ("state", "inline", "size", "in_store", "refs", "holders", "waiters",
                 "contained", "is_error", "on_free", "remote")

    def __init__(self) -> None:
        self.state = PENDING
        self.inline: bytes | None = None
        self.size = 0
        self.in_store = False
        self.refs = 0
        self.holders: set[int] = set()
        self.waiters: list[Callable[[bytes], None]] | None = None
        self.contained: list[bytes] = []
        self.is_error = False
        self.on_free: Callable[[bytes], None] | None = None
        self.remote: RemoteCopy | None = None  # pending here, held by a peer


class ObjectTable:
    """Not thread-safe: the node manager calls it under its lock."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.entries: dict[bytes, Entry] = {}
        # wait(fetch_local=False): called once a value exists anywhere (here or on a peer).
        self.located_waiters: dict[bytes, list[Callable[[bytes], None]]] = {}
        # Set by a node in a cluster: fetch(oid, entry) copies a value held by a peer once
        # something waits for it; drop_remote(oid, entry) frees that copy.
        self.fetch: Callable[[bytes, Entry], None] | None = None
        self.drop_remote: Callable[[bytes, Entry], None] | None = None

    # -- creation and readiness -------------------------------------------------------

    def create(self, oid: bytes, holder: int | None) -> Entry:
        e = self.entries.get(oid)
        if e is None:
            e = Entry()
            self.entries[oid] = e
        if holder is not None and holder not in e.holders:
            e.holders.add(holder)
            e.refs += 1
        return e

    def set_inline(self, oid: bytes, data: bytes, contained: Sequence[bytes] = ()) -> None:
        e = self.entries.get(oid)
        if e is None or e.state == READY:
            return
        e.inline = data
        e.size = len(data)
        e.is_error = bool(data[0] & serialization.FLAG_ERROR)
        self._ready(oid, e, contained)

    def set_in_store(self, oid: bytes, size: int, contained: Sequence[bytes] = ()) -> None:
        e = self.entries.get(oid)
        if e is None or e.state == READY:
            self.store.delete(oid)
            return
        e.in_store = True
        e.size = size
        self._ready(oid, e, contained)

    def _ready(self, oid: bytes, e: Entry, contained: Sequence[bytes]) -> None:
        e.state = READY
        if contained:
            e.contained = list(contained)
            for c in contained:
                self.incref(c)
        waiters = e.waiters
        e.waiters = None
        if waiters:
            for cb in waiters:
                cb(oid)
        if self.located_waiters:
            self.located(oid)
        if e.refs <= 0 and self.entries.get(oid) is e:
            self._free(oid, e)

    def put_value(self, oid: bytes, ser: serialization.Serialized, holder: int) -> None:
        """Store a serialized value created in the manager's own process."""
        self.create(oid, holder)
        if ser.size <= INLINE_MAX:
            self.set_inline(oid, ser.to_bytes(), ser.contained)
            return
        offset = self.allocate(oid, ser.size)
        region = self.store.region
        ser.write_into(lambda off, piece: region.write(offset + off, piece))
        self.store.seal(oid)
        self.set_in_store(oid, ser.size, ser.contained)

    def allocate(self, oid: bytes, size: int) -> int:
        from ember._native import StoreFullError

        try:
            return self.store.create(oid, size)
        except StoreFullError as e:
            raise ObjectStoreFullError(
                f"Cannot fit an object of {size} bytes in the object store "
                f"(capacity {self.store.capacity} bytes) even after spilling: {e}"
            ) from None

    # -- references -------------------------------------------------------------------

    def incref(self, oid: bytes) -> None:
        e = self.entries.get(oid)
        if e is not None:
            e.refs += 1

    def decref(self, oid: bytes) -> None:
        e = self.entries.get(oid)
        if e is None:
            return
        e.refs -= 1
        # A value held only by a peer is done too: freeing the entry frees that copy.
        if e.refs <= 0 and (e.state == READY or e.remote is not None):
            self._free(oid, e)

    def add_holder(self, oid: bytes, holder: int) -> None:
        e = self.entries.get(oid)
        if e is not None and holder not in e.holders:
            e.holders.add(holder)
            e.refs += 1

    def remove_holder(self, oid: bytes, holder: int) -> None:
        e = self.entries.get(oid)
        if e is not None and holder in e.holders:
            e.holders.discard(holder)
            self.decref(oid)

    def _free(self, oid: bytes, e: Entry) -> None:
        if self.entries.pop(oid, None) is not e:
            return
        if e.in_store:
            self.store.delete(oid)
        if e.remote is not None and self.drop_remote is not None:
            self.drop_remote(oid, e)
        if e.on_free is not None:
            e.on_free(oid)
        for c in e.contained:
            self.decref(c)

    # -- reading ----------------------------------------------------------------------

    def is_ready(self, oid: bytes) -> bool:
        e = self.entries.get(oid)
        return e is not None and e.state == READY

    def when_ready(self, oid: bytes, cb: Callable[[bytes], None]) -> bool:
        """Call cb(oid) once ready; returns True if it was already ready (cb not called)."""
        e = self.entries.get(oid)
        if e is None or e.state == READY:
            return True
        if e.waiters is None:
            e.waiters = [cb]
        else:
            e.waiters.append(cb)
        if e.remote is not None and not e.remote.pulling and self.fetch is not None:
            e.remote.pulling = True
            self.fetch(oid, e)
        return False

    def when_located(self, oid: bytes, cb: Callable[[bytes], None]) -> bool:
        """Call cb(oid) once the value exists here or on a peer, without copying it here;
        returns True if it already does (cb not called)."""
        e = self.entries.get(oid)
        if e is None or e.state == READY or e.remote is not None:
            return True
        self.located_waiters.setdefault(oid, []).append(cb)
        return False

    def located(self, oid: bytes) -> None:
        """The value of `oid` now exists (here, or on a peer that holds it)."""
        for cb in self.located_waiters.pop(oid, ()):
            cb(oid)

    def cancel_located(self, oid: bytes, cb: Callable[[bytes], None]) -> None:
        cbs = self.located_waiters.get(oid)
        if cbs is not None and cb in cbs:
            cbs.remove(cb)
            if not cbs:
                del self.located_waiters[oid]

    def cancel_wait(self, oid: bytes, cb: Callable[[bytes], None]) -> None:
        e = self.entries.get(oid)
        if e is not None and e.waiters:
            try:
                e.waiters.remove(cb)
            except ValueError:
                pass

    def payload(self, oid: bytes) -> tuple:
        """("i", bytes) or ("s", offset, size) pinned once: the reader must release it."""
        e = self.entries.get(oid)
        if e is None:
            err = ObjectLostError(oid.hex(), f"Object {oid.hex()} was freed or never existed.")
            return ("i", serialization.serialize_error(err).to_bytes())
        if e.inline is not None:
            return ("i", e.inline)
        offset, size = self.store.get(oid)
        return ("s", offset, size)

    def payloads(self, oids: list[bytes]) -> list[tuple]:
        """payload() of each id, all or none: if a spilled one cannot be restored now
        (the store is full of pinned objects: StoreFullError), the pins already taken
        are dropped before the error is raised, so the caller can simply try again."""
        out: list[tuple] = []
        try:
            for oid in oids:
                out.append(self.payload(oid))
        except BaseException:
            for oid, p in zip(oids, out, strict=False):
                if p[0] == "s":
                    self.store.release(oid)
            raise
        return out

    def never_fits(self, oids: list[bytes]) -> bool:
        """True if the store values among `oids` together exceed the store's capacity, so
        that no amount of waiting lets them all be in memory at once."""
        total = 0
        for oid in set(oids):
            e = self.entries.get(oid)
            if e is not None and e.in_store:
                total += (e.size + 63) // 64 * 64
        return total > self.store.capacity

    def error_bytes(self, oid: bytes) -> bytes | None:
        e = self.entries.get(oid)
        if e is not None and e.is_error:
            return e.inline
        return None
