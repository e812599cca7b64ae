"""Attacks on the listeners that speak ember's own protocol: the object transfer service
(TCP) and the node manager's Unix socket where drivers attach. Both must finish the
token handshake before they read an application byte."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import time

import pytest

from ember._core.common.handshake import MAGIC
from security.attacks import (
    HANDSHAKE_TIMEOUT_S,
    REAL_DRIVER,
    SlowSender,
    closes_within,
    pickle_attack,
    rss_bytes,
    run_driver,
)

GREETING = len(MAGIC) + 16


def _connect(head, target: str) -> socket.socket:
    if target == "transfer":
        host, port = head.transfer_address.rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=10)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(head.node_socket)
    return s


def _greeting(sock: socket.socket) -> bytes:
    got = b""
    while len(got) < GREETING:
        chunk = sock.recv(GREETING - len(got))
        assert chunk, "the service closed before greeting"
        got += chunk
    assert got.startswith(MAGIC)
    return got[len(MAGIC):]


def _answer(token: str, nonce: bytes) -> bytes:
    return MAGIC + hmac.new(token.encode(), b"client" + nonce, hashlib.sha256).digest()


TARGETS = ["transfer", "node_socket"]


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a service unpickled attacker bytes"


@pytest.mark.parametrize("target", TARGETS)
def test_no_token_is_dropped_after_the_handshake_deadline(head, target):
    with _connect(head, target) as s:
        _greeting(s)
        start = time.monotonic()
        assert closes_within(s, HANDSHAKE_TIMEOUT_S + 5) == b""
        assert time.monotonic() - start >= HANDSHAKE_TIMEOUT_S * 0.5


@pytest.mark.parametrize("target", TARGETS)
def test_wrong_token_is_refused(head, target):
    with _connect(head, target) as s:
        nonce = _greeting(s)
        s.sendall(_answer("not-the-token", nonce))
        assert closes_within(s, 5) == b"\x00"


@pytest.mark.parametrize("target", TARGETS)
def test_a_replayed_answer_is_refused(head, target):
    """The answer depends on the server's nonce: one recorded earlier does not work."""
    with _connect(head, target) as s:
        _greeting(s)
        s.sendall(_answer(head.token, os.urandom(16)))
        assert closes_within(s, 5) == b"\x00"


@pytest.mark.parametrize("target", TARGETS)
def test_pickle_payload_is_never_unpickled(head, target, marker):
    with _connect(head, target) as s:
        s.sendall(pickle_attack(marker))
        reply = closes_within(s, HANDSHAKE_TIMEOUT_S + 5)
        assert reply.startswith(MAGIC)
    assert not marker.exists()


@pytest.mark.parametrize("target", TARGETS)
def test_huge_length_header_allocates_nothing(head, target):
    before = rss_bytes(head.pid)
    socks = []
    for _ in range(8):
        s = _connect(head, target)
        s.sendall(b"\xff\xff\xff\x7f" * 10)
        socks.append(s)
    for s in socks:
        closes_within(s, 5)
        s.close()
    assert rss_bytes(head.pid) - before < 32 * 1024 * 1024


@pytest.mark.parametrize("target", TARGETS)
def test_garbage_is_refused(head, target):
    with _connect(head, target) as s:
        s.sendall(os.urandom(4096))
        reply = closes_within(s, 5)
        assert reply[len(MAGIC) + 16:] in (b"", b"\x00")


@pytest.mark.parametrize("target", TARGETS)
def test_slow_sender_holds_nothing_but_its_own_connection(head, target):
    """A peer that dribbles its handshake is cut off at the deadline, and a real driver
    is served meanwhile."""
    s = _connect(head, target)
    _greeting(s)
    with SlowSender(s, MAGIC * 4, interval=0.2) as slow:
        assert run_driver(head, REAL_DRIVER) == "42"
        slow.join(timeout=HANDSHAKE_TIMEOUT_S + 10)
        assert slow.closed_after is not None
        assert slow.closed_after < HANDSHAKE_TIMEOUT_S + 5


def test_authenticated_oversized_frame_drops_the_connection(head):
    """Even after the handshake, a frame length over the limit is refused unread."""
    before = rss_bytes(head.pid)
    with _connect(head, "node_socket") as s:
        s.sendall(_answer(head.token, _greeting(s)))
        assert s.recv(1) == b"\x01"
        s.sendall(b"\xff\xff\xff\xff" + b"x" * 64)
        closes_within(s, 5)
    assert rss_bytes(head.pid) - before < 32 * 1024 * 1024


def test_transfer_refuses_a_malformed_request_after_the_handshake(head):
    with _connect(head, "transfer") as s:
        s.sendall(_answer(head.token, _greeting(s)))
        assert s.recv(1) == b"\x01"
        s.sendall(b"P\xff" + b"x" * 255)  # an id longer than any object id
        assert closes_within(s, 5) == b""


def test_real_clients_are_served_after_the_attacks(head):
    from ember._cluster.transfer import TransferClient

    assert run_driver(head, REAL_DRIVER) == "42"
    client = TransferClient(head.token)
    try:
        with pytest.raises(KeyError):  # authenticated, asked, answered: no such object
            client.pull_into(head.transfer_address, b"\x00" * 28, None, 0, 1)
    finally:
        client.close()
    wrong = TransferClient("wrong-token")
    try:
        with pytest.raises(PermissionError):
            wrong.pull_into(head.transfer_address, b"\x00" * 28, None, 0, 1)
    finally:
        wrong.close()


@pytest.mark.parametrize("target", TARGETS)
def test_a_flood_of_idle_connections_is_bounded(head, target):
    """Past 128 peers in their handshake at once, new connections are closed at once,
    and once the flood is gone real clients are served."""
    socks, refused = [], 0
    try:
        for _ in range(140):
            try:
                socks.append(_connect(head, target))
            except OSError:  # the listen backlog is full: refused too
                refused += 1
        for s in socks[128:]:
            s.settimeout(5)
            try:
                if s.recv(64) == b"":
                    refused += 1
            except (TimeoutError, ConnectionResetError):
                pass
        assert refused >= 1
    finally:
        for s in socks:
            s.close()
    assert run_driver(head, REAL_DRIVER) == "42"
