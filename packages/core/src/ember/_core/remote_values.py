"""Values that travel between nodes with tasks and results, nested refs included.

A mixin of NodeManager. A task forwarded to a peer carries the values of its arguments
and of every object ref nested inside them (transitively); a result sent back to its owner
carries the values of the refs nested in it. A nested ref whose value is not ready yet
travels as "pending": the receiving node keeps a pending entry, and the sender pushes the
value to it once it is ready. Actor handles need no value: calls find the actor through
the directory.
"""

from __future__ import annotations

import pickle
from typing import Any

from ember._core import ids, serialization
from ember._core.objects import READY
from ember.exceptions import ObjectLostError

# Holder id under which a node keeps objects that arrived from another node.
REMOTE_OWNER = -1


class RemoteValuesMixin:
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
            e = self.objects.entries.get(oid)
            if e is not None and e.state == READY:
                stack.extend(e.contained)
        return out

    def _ship_values(self, oids: list[bytes], address: str) -> list[Any]:
        """Dep messages with the values of `oids` and what they contain, for the node at
        `address`; values not ready yet are pushed to it when they are."""
        from ember._cluster.protos import node_pb2 as pb

        deps = []
        for oid in self._closure(oids):
            e = self.objects.entries.get(oid)
            if e is not None and e.state != READY:
                deps.append(pb.Dep(object_id=oid, pending=True))
                self._push_when_ready(oid, address)
            else:
                contained = list(e.contained) if e is not None else []
                deps.append(pb.Dep(object_id=oid, data=self._value_bytes(oid),
                                   contained=contained))
        return deps

    def _value_bytes(self, oid: bytes) -> bytes:
        e = self.objects.entries.get(oid)
        if e is None:
            return serialization.serialize_error(ObjectLostError(oid.hex())).to_bytes()
        if e.inline is not None:
            return e.inline
        offset, size = self.store.get(oid)
        try:
            return bytes(self.region.view(offset, size))
        finally:
            self.store.release(oid)

    def _push_when_ready(self, oid: bytes, address: str) -> None:
        from ember._cluster.protos import node_pb2 as pb

        self.objects.incref(oid)  # kept until its value has gone out

        def ready(_oid: bytes) -> None:
            deps = self._ship_values([oid], address)
            req = pb.ForwardTaskRequest(spec=pickle.dumps({"kind": "values"}),
                                        owner_node=self.node_id,
                                        owner_address=self.link.address, deps=deps)
            self.link.push(address, req)
            self.objects.decref(oid)

        if self.objects.when_ready(oid, ready):
            ready(oid)

    def _accept_values(self, deps: list[Any]) -> list[bytes]:
        """Enter values that came from another node; each is held by REMOTE_OWNER until
        the caller has taken its own references (then it calls _release_arrived)."""
        for d in deps:
            self.objects.create(d.object_id, REMOTE_OWNER)
        for d in deps:
            if not d.pending:
                self.objects.set_inline(d.object_id, d.data, list(d.contained))
        return [d.object_id for d in deps]

    def _release_arrived(self, oids: list[bytes]) -> None:
        for oid in oids:
            self.objects.remove_holder(oid, REMOTE_OWNER)
