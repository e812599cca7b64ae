"""The token handshake every listener runs before it reads an application byte.

Fixed format, no parsing of variable-length data, no pickle:

    server -> client   MAGIC (8 bytes) + nonce (16 random bytes)
    client -> server   MAGIC (8 bytes) + HMAC-SHA256(token, "client" + nonce) (32 bytes)
    server -> client   one byte: 1 (accepted) or 0 (refused, then the server closes)

The token never crosses the wire, a recorded answer is useless against another nonce, and
the comparison is constant-time. The server gives the peer a deadline for the whole
exchange, so a slow sender holds nothing but its own connection thread.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import threading
import time

__all__ = ["MAGIC", "AuthenticationFailed", "Gate", "accept", "connect"]

MAGIC = b"EMBERv1\x00"
_NONCE = 16
_DIGEST = 32
_CLIENT_LEN = len(MAGIC) + _DIGEST
_ACCEPTED = b"\x01"
_REFUSED = b"\x00"


class AuthenticationFailed(ConnectionError):
    """The peer did not prove that it holds the cluster token."""


def _answer(token: bytes, nonce: bytes) -> bytes:
    return hmac.new(token, b"client" + nonce, hashlib.sha256).digest()


def _recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the peer did not finish the handshake in time")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the peer closed the connection during the handshake")
        buf += chunk
    return bytes(buf)


class Gate:
    """Bounds how many peers may be in their handshake at once: past the bound, a new
    connection is closed at once, so a flood of idle connections cannot pile up threads."""

    def __init__(self, limit: int = 128) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def enter(self) -> bool:
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        self._slots.release()


def accept(sock: socket.socket, token: bytes, timeout: float) -> bool:
    """Server side: True if the peer proved the token; otherwise it is told so and False.

    The socket is left blocking with no timeout on success; the caller closes it on
    failure.
    """
    deadline = time.monotonic() + timeout
    nonce = os.urandom(_NONCE)
    try:
        sock.settimeout(timeout)
        sock.sendall(MAGIC + nonce)
        got = _recv_exact(sock, _CLIENT_LEN, deadline)
        ok = got[: len(MAGIC)] == MAGIC and hmac.compare_digest(
            got[len(MAGIC):], _answer(token, nonce))
        sock.sendall(_ACCEPTED if ok else _REFUSED)
    except OSError:
        return False
    if ok:
        sock.settimeout(None)
    return ok


def connect(sock: socket.socket, token: bytes, timeout: float) -> None:
    """Client side: prove the token; raises AuthenticationFailed when refused."""
    deadline = time.monotonic() + timeout
    try:
        hello = _recv_exact(sock, len(MAGIC) + _NONCE, deadline)
        if hello[: len(MAGIC)] != MAGIC:
            raise AuthenticationFailed("the peer is not an ember service (bad greeting)")
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(MAGIC + _answer(token, hello[len(MAGIC):]))
        verdict = _recv_exact(sock, 1, deadline)
    except AuthenticationFailed:
        raise
    except OSError as e:
        raise AuthenticationFailed(f"the handshake with the peer failed: {e}") from e
    if verdict != _ACCEPTED:
        raise AuthenticationFailed(
            "the peer refused the cluster token (a wrong or stale token: use the one "
            "`ember start --head` wrote)")
    sock.settimeout(None)
