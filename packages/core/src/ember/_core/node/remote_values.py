"""Values that travel between nodes with tasks and results, nested refs included.

A mixin of NodeManager. A task forwarded to a peer carries the values of its arguments
and of every object ref nested inside them (transitively); a result sent back to its owner
carries the values of the refs nested in it. A nested ref whose value is not ready yet
travels as "pending": the receiving node keeps a pending entry, and the sender pushes the
value to it once it is ready. Actor handles need no value: calls find the actor through
the directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ember._core.common import ids, serialization
from ember._core.node.cluster_port import Dep, Forwarded, ForwardFailure
from ember._core.node.objects import READY
from ember._native import StoreFullError
from ember.exceptions import ObjectLostError

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.task_manager import TaskManager

# Holder id under which a node keeps objects that arrived from another node.
REMOTE_OWNER = -1
# Arguments larger than this are not carried in the forward message: the receiving node
# pulls them over the transfer service (straight into its store) when the task needs them.
LEND_MIN = 1 << 20


def _ignore(_failure: ForwardFailure) -> None:
    """Pushed values need no answer: a peer that refuses them is gone."""


class RemoteValues:
    def __init__(self, node: NodeManager) -> None:
        self.node = node

    def connect(self, *, task_manager: TaskManager) -> None:
        """Wire the sibling components this one calls."""
        self.task_manager = task_manager

    def _closure(self, oids: list[bytes]) -> list[bytes]:
        """`oids` and the refs nested in their values, transitively (no actor handles)."""
        seen: set[bytes] = set()
        out = []
        stack = list(oids)
        while stack:
            oid = stack.pop()
            if oid in seen or oid.endswith(ids.HANDLE_SUFFIX):
                continue
            seen.add(oid)
            out.append(oid)
            e = self.node.objects.entries.get(oid)
            if e is not None and e.state == READY:
                stack.extend(e.contained)
        return out

    def ship_values(self, oids: list[bytes], address: str, lend: bool = False) -> list[Dep]:
        """Dep messages with the values of `oids` and what they contain, for the node at
        `address`; values not ready yet are pushed to it when they are. With `lend` (the
        caller keeps the objects alive until the receiver is done), large values are only
        named, and the receiver pulls them."""
        deps: list[Dep] = []
        for oid in self._closure(oids):
            e = self.node.objects.entries.get(oid)
            if e is not None and e.state != READY:
                deps.append(Dep(oid, pending=True))
                self._push_when_ready(oid, address)
            elif lend and e is not None and e.in_store and e.size >= LEND_MIN:
                deps.append(Dep(oid, holder=self.node.node_id, size=e.size,
                                contained=tuple(e.contained)))
            else:
                contained = tuple(e.contained) if e is not None else ()
                try:
                    data = self._value_bytes(oid)
                except StoreFullError:  # spilled, and no room to read it back now
                    deps.append(Dep(oid, pending=True))
                    self._push_when_room(oid, address)
                    continue
                deps.append(Dep(oid, data=data, contained=contained))
        return deps

    def _push_when_room(self, oid: bytes, address: str) -> None:
        """Send a value that could not be restored from disk yet (the store is full of
        pinned objects) once there is room: it went out as pending, like a value that
        is not ready, so shipping never fails under store pressure."""
        self.node.objects.incref(oid)  # kept until its value has gone out

        def attempt() -> None:
            e = self.node.objects.entries.get(oid)
            try:
                data = self._value_bytes(oid)
            except StoreFullError:
                self.task_manager.space_waiters.append(attempt)
                self.task_manager.wait_for_space()
                return
            dep = Dep(oid, data=data, contained=tuple(e.contained) if e is not None else ())
            self.node.cluster.forward(address, Forwarded("values"), [dep], _ignore)
            self.node.objects.decref(oid)

        self.task_manager.space_waiters.append(attempt)
        self.task_manager.wait_for_space()

    def _value_bytes(self, oid: bytes) -> bytes:
        e = self.node.objects.entries.get(oid)
        if e is None:
            return serialization.serialize_error(ObjectLostError(oid.hex())).to_bytes()
        if e.inline is not None:
            return e.inline
        offset, size = self.node.store.get(oid)
        try:
            return bytes(self.node.region.view(offset, size))
        finally:
            self.node.store.release(oid)

    def _push_when_ready(self, oid: bytes, address: str) -> None:
        self.node.objects.incref(oid)  # kept until its value has gone out

        def ready(_oid: bytes) -> None:
            deps = self.ship_values([oid], address)
            self.node.cluster.forward(address, Forwarded("values"), deps, _ignore)
            self.node.objects.decref(oid)

        if self.node.objects.when_ready(oid, ready):
            ready(oid)

    def accept_values(self, deps: Sequence[Dep]) -> list[bytes]:
        """Enter values that came from another node; each is held by REMOTE_OWNER until
        the caller has taken its own references (then it calls _release_arrived)."""
        from ember._core.node.objects import RemoteCopy

        for d in deps:
            self.node.objects.create(d.object_id, REMOTE_OWNER)
        for d in deps:
            if d.holder:  # lent: pulled from its holder once something waits for it
                e = self.node.objects.entries[d.object_id]
                if e.state != READY and e.remote is None:
                    e.remote = RemoteCopy(d.holder, d.size, list(d.contained), None)
                    for c in d.contained:  # kept until the value is here (or dropped)
                        self.node.objects.incref(c)
            elif not d.pending:
                self.node.objects.set_inline(d.object_id, d.data, list(d.contained))
        return [d.object_id for d in deps]

    def release_arrived(self, oids: list[bytes]) -> None:
        for oid in oids:
            self.node.objects.remove_holder(oid, REMOTE_OWNER)
