"""Ray's internal key-value store (`ember.experimental.internal_kv`): a dict in the node
manager of an embedded cluster; in a cluster, the control store's, shared by every node.

Keys live in namespaces ("" by default). Requests are `op_kv(action, ns, key, value,
flag)`, with `flag` meaning overwrite for "put" and by-prefix for "del".
"""

from __future__ import annotations

from typing import Any

from ember._core.node.requests import DEFERRED

_ACTIONS = ("put", "get", "del", "exists", "keys")


class KeyValue:
    """The node's internal-KV requests (thread-safety: called under the node's lock)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.local: dict[tuple[str, bytes], bytes] = {}

    def op_kv(self, caller: int, reply: Any, action: str, ns: str, key: bytes,
              value: bytes | None = None, flag: bool = False) -> Any:
        if action not in _ACTIONS:
            raise ValueError(f"Unknown key-value action {action!r}.")
        if not isinstance(key, bytes) or not isinstance(ns, str):
            raise TypeError("A key-value key is bytes and its namespace a str.")
        if self.node.gcs is None:
            return self._local(action, ns, key, value, flag)
        store = self.node.control_store

        def remote() -> None:  # off the IO loop: a control-store call blocks
            try:
                result = _remote(store, action, ns, key, value, flag)
            except Exception as e:  # noqa: BLE001 - the caller's error
                reply(False, e)
                return
            reply(True, result)

        self.node.cluster.run(remote)
        return DEFERRED

    def _local(self, action: str, ns: str, key: bytes, value: bytes | None,
               flag: bool) -> Any:
        data = self.local
        if action == "put":
            exists = (ns, key) in data
            if flag or not exists:
                data[(ns, key)] = bytes(value or b"")
            return exists
        if action == "get":
            return data.get((ns, key))
        if action == "exists":
            return (ns, key) in data
        if action == "keys":
            return [k for n, k in data if n == ns and k.startswith(key)]
        gone = [(n, k) for n, k in data if n == ns and (k.startswith(key) if flag else k == key)]
        for k in gone:
            del data[k]
        return len(gone)


def _remote(store: Any, action: str, ns: str, key: bytes, value: bytes | None,
            flag: bool) -> Any:
    if action == "put":
        return not store.kv_put(key, value or b"", flag, ns)  # `added` -> already existed
    if action == "get":
        return store.kv_get(key, ns)
    if action == "exists":
        return store.kv_get(key, ns) is not None
    if action == "keys":
        return store.kv_keys(key, ns)
    return store.kv_del(key, flag, ns)


__all__ = ["KeyValue"]
