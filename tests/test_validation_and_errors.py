"""Options are validated at the call site with messages that name the option and the value;
only `ember.exceptions` types (and Python's own TypeError/ValueError for bad input) reach
users, never the native module's classes."""

from __future__ import annotations

import pytest

import ember
from ember import exceptions


@ember.remote
def echo(x):
    return x


@ember.remote
class Box:
    def get(self):
        return 1


@pytest.mark.parametrize("options, error, words", [
    ({"max_retries": "a"}, TypeError, ["max_retries", "'a'"]),
    ({"max_retries": -2}, ValueError, ["max_retries", "-2"]),
    ({"num_cpus": "x"}, TypeError, ["num_cpus", "'x'"]),
    ({"num_returns": "q"}, ValueError, ["num_returns", "'q'"]),
    ({"name": 3}, TypeError, ["name", "3"]),
    ({"memory": -1}, ValueError, ["memory", "-1"]),
])
def test_task_options_name_the_option(cluster, options, error, words):
    with pytest.raises(error) as e:
        echo.options(**options).remote(1)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("options, error, words", [
    ({"max_restarts": "a"}, TypeError, ["max_restarts", "'a'"]),
    ({"max_task_retries": 1.5}, TypeError, ["max_task_retries", "1.5"]),
    ({"namespace": 3}, TypeError, ["namespace", "3"]),
    ({"get_if_exists": "yes", "name": "x"}, TypeError, ["get_if_exists", "'yes'"]),
    ({"max_concurrency": 0}, ValueError, ["max_concurrency", "0"]),
])
def test_actor_options_name_the_option(cluster, options, error, words):
    with pytest.raises(error) as e:
        Box.options(**options).remote()
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("timeout, error", [("x", TypeError), ([1], TypeError),
                                            (-1, ValueError)])
def test_get_and_wait_timeouts_name_the_option(cluster, timeout, error):
    ref = echo.remote(1)
    with pytest.raises(error, match="timeout"):
        ember.get(ref, timeout=timeout)
    with pytest.raises(error, match="timeout"):
        ember.wait([ref], timeout=timeout)
    assert ember.get(ref) == 1


def test_an_argument_larger_than_the_store_raises_object_store_full(shutdown_after):
    ember.init(num_cpus=1, object_store_memory=64 * 1024 * 1024)
    with pytest.raises(exceptions.ObjectStoreFullError) as e:
        echo.remote(bytes(100 * 1024 * 1024))
    assert type(e.value).__module__ == "ember.exceptions"
    assert ember.get(echo.remote(b"still serving")) == b"still serving"


def test_large_bytes_arguments_go_through_the_store(shutdown_after):
    """A 50 MB bytes argument arrives intact, as bytes, and the task message stays small."""
    ember.init(num_cpus=1)
    data = bytes(range(256)) * (50 * 1024 * 1024 // 256)

    @ember.remote
    def digest(b):
        import hashlib

        return type(b).__name__, len(b), hashlib.sha256(b).hexdigest()

    import hashlib

    assert ember.get(digest.remote(data)) == ("bytes", len(data),
                                              hashlib.sha256(data).hexdigest())
    assert ember.get(digest.remote(b=data))[1] == len(data)


def test_native_errors_are_mapped_to_public_ones():
    from ember import _native
    from ember._core.common.native_errors import to_public

    for native, public in [(_native.StoreFullError, exceptions.ObjectStoreFullError),
                           (_native.InfeasibleError, exceptions.InfeasibleResourceError),
                           (_native.NativeIOError, exceptions.RaySystemError)]:
        err = to_public(native("boom"))
        assert type(err) is public and "boom" in str(err)
        assert isinstance(err, exceptions.RayError)
    plain = ValueError("x")
    assert to_public(plain) is plain


def test_large_bytes_are_made_without_holding_the_gil():
    """Another thread keeps running while a 200 MB bytes object is materialized."""
    import threading
    import time

    from ember.lowlevel import bytes_from_buffer, join_bytes

    src = bytearray(range(256)) * (200 * 1024 * 1024 // 256)
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    try:
        out = bytes_from_buffer(memoryview(src))
        joined = join_bytes([bytes(src[:1 << 20]), bytes(src[1 << 20: 3 << 20])])
    finally:
        stop.set()
        t.join()
    assert type(out) is bytes and out == src
    assert joined == bytes(src[: 3 << 20])
    assert len(ticks) > 1
