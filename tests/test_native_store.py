"""The object store through ember._native: real memfd, real processes, real files."""

import gc
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ember import _native

MiB = 1 << 20


def oid(n: int) -> bytes:
    return n.to_bytes(20, "big")


def put(store: _native.ObjectStore, object_id: bytes, data: bytes, evictable: bool = False) -> int:
    offset = store.create(object_id, len(data), evictable)
    store.region.write(offset, data)
    store.seal(object_id)
    return offset


def read(store: _native.ObjectStore, object_id: bytes) -> bytes:
    offset, size = store.get(object_id)
    try:
        return bytes(store.region.view(offset, size))
    finally:
        store.release(object_id)


def test_create_seal_get_release_delete() -> None:
    store = _native.ObjectStore(4 * MiB)
    offset = put(store, oid(1), b"hello")
    assert offset % 64 == 0
    assert store.contains(oid(1))
    assert store.get(oid(1)) == (offset, 5)
    assert store.list_objects() == [(oid(1), 5, "SEALED", 1)]
    store.release(oid(1))
    stats = store.stats()
    assert stats["num_objects"] == 1 and stats["num_pinned"] == 0
    assert stats["capacity"] == 4 * MiB and stats["used_bytes"] == 64
    store.delete(oid(1))
    assert not store.contains(oid(1))
    assert store.stats()["used_bytes"] == 0


def test_errors_map_to_python_exceptions() -> None:
    store = _native.ObjectStore(1024)
    store.create(oid(1), 10)
    with pytest.raises(_native.ObjectExistsError):
        store.create(oid(1), 10)
    with pytest.raises(ValueError):  # ObjectExistsError is a ValueError
        store.create(oid(1), 10)
    with pytest.raises(_native.ObjectNotFoundError):
        store.get(oid(1))  # not sealed yet
    with pytest.raises(KeyError):
        store.get(oid(2))
    with pytest.raises(_native.ObjectNotFoundError):
        store.delete(oid(2))
    with pytest.raises(_native.StoreFullError):
        store.create(oid(3), 4096)
    with pytest.raises(MemoryError):
        store.create(oid(3), 4096)
    with pytest.raises(ValueError):
        store.release(oid(1))  # the creator's pin is not a get
    store.abort(oid(1))
    assert store.list_objects() == []


def test_pinned_object_survives_delete_until_released() -> None:
    store = _native.ObjectStore(MiB)
    put(store, oid(1), b"x" * 100)
    offset, size = store.get(oid(1))
    store.delete(oid(1))
    assert not store.contains(oid(1))
    assert bytes(store.region.view(offset, size)) == b"x" * 100
    assert store.stats()["used_bytes"] == 128
    store.release(oid(1))
    assert store.stats()["used_bytes"] == 0


def test_store_full_when_everything_is_pinned() -> None:
    store = _native.ObjectStore(1024)
    put(store, oid(1), b"a" * 1024, evictable=True)
    store.get(oid(1))
    with pytest.raises(_native.StoreFullError, match="pinned"):
        store.create(oid(2), 10)
    store.release(oid(1))
    store.create(oid(2), 10)  # the evictable copy makes room now
    assert store.stats()["evicted_total"] == 1


def test_size_zero_objects() -> None:
    store = _native.ObjectStore(MiB)
    put(store, oid(1), b"")
    offset, size = store.get(oid(1))
    assert size == 0
    assert bytes(store.region.view(offset, 0)) == b""
    store.release(oid(1))


def test_child_process_reads_through_the_fd() -> None:
    store = _native.ObjectStore(64 * MiB)
    payload = os.urandom(3 * MiB)
    offset = put(store, oid(7), payload)
    child = (
        "import sys\n"
        "from ember import _native\n"
        "fd, size, offset, n = map(int, sys.argv[1:])\n"
        "region = _native.Region(fd, size)\n"
        "sys.stdout.buffer.write(bytes(region.view(offset, n)))\n"
        "region.write(offset, b'CHILD')\n"
        "region.close()\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            child,
            str(store.fd),
            str(store.capacity),
            str(offset),
            str(len(payload)),
        ],
        pass_fds=[store.fd],
        capture_output=True,
        check=True,
    )
    assert result.stdout == payload
    # The child's write landed in the parent's memory: one shared region.
    assert bytes(store.region.view(offset, 5)) == b"CHILD"


def test_view_on_release_fires_when_numpy_array_dies() -> None:
    store = _native.ObjectStore(MiB)
    data = np.arange(1000, dtype=np.int64)
    put(store, oid(1), data.tobytes())
    offset, size = store.get(oid(1))
    released: list[int] = []
    view = store.region.view(offset, size, on_release=lambda: released.append(1))
    assert view.readonly
    array = np.frombuffer(view, dtype=np.int64)
    del view
    gc.collect()
    assert released == []  # the array still holds the view
    assert np.array_equal(array, data)
    assert not array.flags.writeable
    with pytest.raises(ValueError):
        array[0] = 1
    del array
    gc.collect()
    assert released == [1]


def test_view_survives_pickle_protocol_5_out_of_band() -> None:
    store = _native.ObjectStore(MiB)
    data = np.arange(256, dtype=np.float64)
    put(store, oid(1), data.tobytes())
    offset, size = store.get(oid(1))
    released: list[int] = []
    view = store.region.view(
        offset, size, on_release=lambda: store.release(oid(1)) or released.append(1)
    )
    buffers: list[pickle.PickleBuffer] = []
    blob = pickle.dumps(
        np.frombuffer(view, dtype=np.float64), protocol=5, buffer_callback=buffers.append
    )
    del view
    restored = pickle.loads(blob, buffers=[b.raw() for b in buffers])
    del buffers
    gc.collect()
    assert np.array_equal(restored, data)
    assert released == []
    del restored
    gc.collect()
    assert released == [1]
    assert store.stats()["num_pinned"] == 0


def test_view_and_write_bounds_and_close() -> None:
    store = _native.ObjectStore(4096)
    region = _native.Region(store.fd, 4096)
    with pytest.raises(ValueError):
        region.view(4000, 200)
    with pytest.raises(ValueError):
        region.write(4090, b"0123456789")
    view = region.view(0, 10)
    region.close()
    assert region.closed
    assert bytes(view) == bytes(10)  # still mapped while a view is alive
    with pytest.raises(ValueError):
        region.view(0, 1)
    with pytest.raises(ValueError):
        region.write(0, b"x")
    with pytest.raises(ValueError):
        _native.Region(store.fd, 8192)  # larger than the memfd


def test_large_parallel_write_round_trips() -> None:
    store = _native.ObjectStore(64 * MiB)
    payload = np.random.default_rng(0).integers(0, 255, 40 * MiB, dtype=np.uint8)
    offset = store.create(oid(1), payload.nbytes)
    store.region.write(offset, payload)
    store.seal(oid(1))
    assert read(store, oid(1)) == payload.tobytes()


def test_spill_and_restore_give_identical_bytes(tmp_path: Path) -> None:
    store = _native.ObjectStore(4 * MiB, spill_dir=str(tmp_path / "spill"))
    payloads = {n: os.urandom(MiB + n) for n in range(8)}
    for n, payload in payloads.items():
        put(store, oid(n), payload)
    stats = store.stats()
    assert stats["num_spilled"] > 0 and stats["spilled_total"] > 0
    assert any(state == "SPILLED" for _, _, state, _ in store.list_objects())
    assert all(store.contains(oid(n)) for n in payloads)
    for n, payload in payloads.items():
        assert read(store, oid(n)) == payload
    assert store.stats()["restored_total"] > 0
    store.delete(oid(0))
    del store
    gc.collect()
    assert list((tmp_path / "spill").iterdir()) == []  # no spill files left behind


def test_concurrent_puts_release_the_gil() -> None:
    store = _native.ObjectStore(256 * MiB)
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for i in range(20):
                put(store, oid(base + i), bytes([i]) * (2 * MiB))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.stats()["num_objects"] == 80
