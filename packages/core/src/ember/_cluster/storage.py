"""Where the control store keeps its state: memory, an SQLite file, or Redis.

All three hold (table, key) -> bytes rows behind one small interface, so the control
store survives a head restart with the default SQLite file and can use an existing Redis
for a highly available head.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Protocol, cast


class Storage(Protocol):
    def put(self, table: str, key: bytes, value: bytes) -> None: ...
    def get(self, table: str, key: bytes) -> bytes | None: ...
    def delete(self, table: str, key: bytes) -> bool: ...
    def items(self, table: str) -> list[tuple[bytes, bytes]]: ...
    def close(self) -> None: ...


class MemoryStorage:
    """State that lives only as long as the process (tests, throwaway clusters)."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[bytes, bytes]] = {}
        self._lock = threading.Lock()

    def put(self, table: str, key: bytes, value: bytes) -> None:
        with self._lock:
            self._tables.setdefault(table, {})[key] = value

    def get(self, table: str, key: bytes) -> bytes | None:
        with self._lock:
            return self._tables.get(table, {}).get(key)

    def delete(self, table: str, key: bytes) -> bool:
        with self._lock:
            return self._tables.get(table, {}).pop(key, None) is not None

    def items(self, table: str) -> list[tuple[bytes, bytes]]:
        with self._lock:
            return list(self._tables.get(table, {}).items())

    def close(self) -> None:
        pass


class SqliteStorage:
    """One SQLite file (WAL mode); every write is committed before the RPC returns."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rows (tbl TEXT NOT NULL, key BLOB NOT NULL,"
                         " value BLOB NOT NULL, PRIMARY KEY (tbl, key))")
        self._lock = threading.Lock()

    def put(self, table: str, key: bytes, value: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", (table, key, value))

    def get(self, table: str, key: bytes) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM rows WHERE tbl=? AND key=?",
                                   (table, key)).fetchone()
        return row[0] if row else None

    def delete(self, table: str, key: bytes) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM rows WHERE tbl=? AND key=?", (table, key))
        return cur.rowcount > 0

    def items(self, table: str) -> list[tuple[bytes, bytes]]:
        with self._lock:
            return [(bytes(k), bytes(v)) for k, v in self._db.execute(
                "SELECT key, value FROM rows WHERE tbl=? ORDER BY key", (table,))]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RedisStorage:
    """Rows as Redis hashes (one hash per table, under a key prefix)."""

    def __init__(self, url: str, prefix: str = "ember") -> None:
        try:
            import redis
        except ImportError as e:
            raise RuntimeError("Redis storage needs the 'redis' package: pip install redis") from e
        self._r = redis.Redis.from_url(url)
        self._r.ping()
        self._prefix = prefix

    def _h(self, table: str) -> str:
        return f"{self._prefix}:{table}"

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self._r.hset(self._h(table), key, value)

    # redis-py types replies as bytes | str (str with decode_responses=True); this client
    # keeps the default, so replies are bytes.
    def get(self, table: str, key: bytes) -> bytes | None:
        return cast("bytes | None", self._r.hget(self._h(table), key))

    def delete(self, table: str, key: bytes) -> bool:
        return bool(self._r.hdel(self._h(table), key))

    def items(self, table: str) -> list[tuple[bytes, bytes]]:
        rows = cast("dict[bytes, bytes]", self._r.hgetall(self._h(table)))
        return sorted(rows.items())

    def close(self) -> None:
        self._r.close()


def open_storage(spec: str | None) -> Storage:
    """"" or None: memory; "redis://…": Redis; anything else: an SQLite file path."""
    if not spec:
        return MemoryStorage()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage(spec)
    return SqliteStorage(spec)
