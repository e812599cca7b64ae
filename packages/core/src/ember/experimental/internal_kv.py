"""Ray's internal key-value store (`ray.experimental.internal_kv`), which Ray's libraries
and many programs use for small cluster-wide state: on an embedded cluster it lives in the
node manager; in a cluster, in the control store that every node shares. Keys and values
are bytes (a str is UTF-8 encoded); each namespace ("" by default) has its own keys.
Keys may not start with `@namespace_` (RaySystemError, as in Ray).
"""

from __future__ import annotations

from ember._core.caller import context

__all__ = [
    "_internal_kv_del",
    "_internal_kv_exists",
    "_internal_kv_get",
    "_internal_kv_initialized",
    "_internal_kv_list",
    "_internal_kv_put",
]


_RESERVED = b"@namespace_"


def _bytes(value: str | bytes, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    raise TypeError(f"The {what} must be str or bytes, got {type(value).__name__}.")


def _ns(namespace: str | bytes | None) -> str:
    if namespace is None:
        return ""
    return namespace.decode() if isinstance(namespace, bytes) else str(namespace)


def _call(action: str, namespace: str | bytes | None, key: str | bytes,
          value: bytes | None = None, flag: bool = False) -> object:
    raw = _bytes(key, "key")
    if raw.startswith(_RESERVED):  # as Ray's store: the prefix of its namespaced keys
        from ember.exceptions import RaySystemError

        raise RaySystemError(f"Key can't start with {_RESERVED.decode()}")
    return context.require_client().call("kv", action, _ns(namespace), raw, value, flag)


def _internal_kv_initialized() -> bool:
    """Whether this process is connected to a cluster (the store is reachable)."""
    return context.session is not None


def _internal_kv_get(key: str | bytes, *, namespace: str | bytes | None = None
                     ) -> bytes | None:
    """The key's value, or None."""
    return _call("get", namespace, key)  # type: ignore[return-value]


def _internal_kv_exists(key: str | bytes, *, namespace: str | bytes | None = None) -> bool:
    """Whether the key has a value."""
    return bool(_call("exists", namespace, key))


def _internal_kv_put(key: str | bytes, value: str | bytes, overwrite: bool = True, *,
                     namespace: str | bytes | None = None) -> bool:
    """Store the value (keeping an existing one unless `overwrite`); returns whether the
    key already existed."""
    return bool(_call("put", namespace, key, _bytes(value, "value"), bool(overwrite)))


def _internal_kv_del(key: str | bytes, *, del_by_prefix: bool = False,
                     namespace: str | bytes | None = None) -> int:
    """Delete the key (or every key starting with it); returns how many were deleted."""
    return int(_call("del", namespace, key, None, bool(del_by_prefix)))  # type: ignore[arg-type]


def _internal_kv_list(prefix: str | bytes, *, namespace: str | bytes | None = None
                      ) -> list[bytes]:
    """The keys starting with `prefix`."""
    return list(_call("keys", namespace, prefix))  # type: ignore[call-overload]
