"""Attacks on a Serve replica's channel socket (the HTTP proxy's direct path to the
replicas on its node): the token handshake runs before a byte of a frame is read, and a
broken peer is dropped without growing the replica or stopping real traffic."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import socket
import struct
import sys
import time

import httpx
import pytest

import ember
from ember import serve
from ember._core.common.handshake import MAGIC
from security.attacks import (
    HANDSHAKE_TIMEOUT_S,
    MarkerPayload,
    SlowSender,
    closes_within,
    rss_bytes,
)

GREETING = len(MAGIC) + 16
RSS_SLACK = 32 * 1024 * 1024


@pytest.fixture(scope="module")
def replica():
    """A one-replica deployment behind the proxy: (proxy url, replica pid, its address)."""
    from ember.serve._client import get_client, get_controller

    old = os.environ.get("EMBER_HANDSHAKE_TIMEOUT_S")
    os.environ["EMBER_HANDSHAKE_TIMEOUT_S"] = str(HANDSHAKE_TIMEOUT_S)
    ember.init(num_cpus=2)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": 0})
        url = ember.get(get_controller().get_status.remote())["proxy_address"]

        @serve.deployment(ray_actor_options={"num_cpus": 0})
        class Pid:
            async def __call__(self) -> str:
                return str(os.getpid())

        serve.run(Pid.bind(), name="pid", route_prefix="/pid")
        pid = int(httpx.get(url + "/pid", timeout=30).text)
        router = get_client().router("pid", "Pid")
        deadline = time.monotonic() + 20
        while not (router.running_replicas() and router.running_replicas()[0].channel):
            assert time.monotonic() < deadline, "the replica never published its channel"
            time.sleep(0.05)
        yield url, pid, router.running_replicas()[0].channel
    finally:
        serve.shutdown()
        ember.shutdown()
        if old is None:
            os.environ.pop("EMBER_HANDSHAKE_TIMEOUT_S", None)
        else:
            os.environ["EMBER_HANDSHAKE_TIMEOUT_S"] = old


def _connect(address) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(address.path)
    return s


def _greeting(s: socket.socket) -> bytes:
    got = b""
    while len(got) < GREETING:
        chunk = s.recv(GREETING - len(got))
        assert chunk, "closed before the greeting"
        got += chunk
    assert got.startswith(MAGIC)
    return got[len(MAGIC):]


def _authenticated(address) -> socket.socket:
    s = _connect(address)
    nonce = _greeting(s)
    s.sendall(MAGIC + hmac.new(address.token, b"client" + nonce, hashlib.sha256).digest())
    assert s.recv(1) == b"\x01"
    return s


def _served(url: str, pid: int) -> None:
    r = httpx.get(url + "/pid", timeout=30)
    assert r.status_code == 200 and int(r.text) == pid


def test_socket_leaves_no_file_and_needs_the_token(replica):
    """On Linux the socket is abstract: no file to leak, and any local process may
    connect, so the handshake is what keeps others out (the tests below)."""
    _, _, address = replica
    if sys.platform.startswith("linux"):
        assert address.path.startswith("\0")
    else:
        assert os.stat(os.path.dirname(address.path)).st_mode & 0o077 == 0


def test_no_token_is_dropped_after_the_handshake_deadline(replica):
    _, _, address = replica
    s = _connect(address)
    _greeting(s)
    t0 = time.monotonic()
    assert closes_within(s, HANDSHAKE_TIMEOUT_S + 5) == b""
    assert time.monotonic() - t0 < HANDSHAKE_TIMEOUT_S + 5
    s.close()


def test_wrong_token_is_refused(replica):
    _, _, address = replica
    s = _connect(address)
    nonce = _greeting(s)
    s.sendall(MAGIC + hmac.new(b"wrong", b"client" + nonce, hashlib.sha256).digest())
    assert closes_within(s, 5) == b"\x00"
    s.close()


def test_pickle_payload_is_never_unpickled(replica, tmp_path):
    url, pid, address = replica
    marker = tmp_path / "pwned"
    data = pickle.dumps(MarkerPayload(marker), protocol=5)
    s = _connect(address)
    _greeting(s)
    s.sendall(struct.pack("!I", len(data)) + data)
    closes_within(s, HANDSHAKE_TIMEOUT_S + 5)
    s.close()
    assert not marker.exists()
    _served(url, pid)


def test_huge_length_header_after_the_handshake_allocates_nothing(replica):
    url, pid, address = replica
    before = rss_bytes(pid)
    s = _authenticated(address)
    s.sendall(struct.pack("!I", 0xFFFFFFF0) + b"x" * 1024)
    assert closes_within(s, 5) == b""
    s.close()
    assert rss_bytes(pid) - before < RSS_SLACK
    _served(url, pid)


def test_garbage_frame_after_the_handshake_drops_the_connection(replica):
    url, pid, address = replica
    s = _authenticated(address)
    s.sendall(struct.pack("!I", 16) + os.urandom(16))
    assert closes_within(s, 5) == b""
    s.close()
    _served(url, pid)


def test_slow_sender_holds_nothing_but_its_own_connection(replica):
    url, pid, address = replica
    s = _connect(address)
    _greeting(s)
    with SlowSender(s, MAGIC * 8, interval=0.2) as slow:
        t0 = time.monotonic()
        _served(url, pid)  # real traffic flows while the slow peer is held
        assert time.monotonic() - t0 < HANDSHAKE_TIMEOUT_S
        slow.join(HANDSHAKE_TIMEOUT_S + 5)
        assert slow.closed_after is not None
        assert slow.closed_after < HANDSHAKE_TIMEOUT_S + 2


def test_a_flood_of_idle_connections_is_bounded(replica):
    url, pid, address = replica
    before = rss_bytes(pid)
    socks = []
    try:
        for _ in range(160):
            socks.append(_connect(address))
        _served(url, pid)
        # Past the bound (128 peers in their handshake), connections are closed at once.
        closed = 0
        for s in socks:
            s.settimeout(HANDSHAKE_TIMEOUT_S + 5)
            try:
                got = s.recv(GREETING)
            except OSError:
                got = b""
            closed += got == b""
        assert closed >= 160 - 128
    finally:
        for s in socks:
            s.close()
    assert rss_bytes(pid) - before < RSS_SLACK
    _served(url, pid)
