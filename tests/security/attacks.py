"""The attacks every listener must survive, and what the tests check after them.

Each attack helper returns once the service has dealt with it; the tests then check that
nothing ran (a marker file a pickle payload would create), that the service's memory did
not grow, and that real clients are still served.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Deliberately tight limits so that the attacks below hit them quickly.
HANDSHAKE_TIMEOUT_S = 1.0
GRPC_LIMIT = 8 * 1024 * 1024


@dataclass
class Head:
    env: dict
    info: dict
    token: str
    pid: int
    gcs_address: str
    node_address: str
    transfer_address: str
    node_socket: str


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class MarkerPayload:
    """Unpickling this creates a file: proof that a service ran attacker-chosen code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def pickle_attack(marker: Path) -> bytes:
    data = pickle.dumps(MarkerPayload(marker), protocol=5)
    return len(data).to_bytes(4, "little") + data


def closes_within(sock: socket.socket, seconds: float) -> bytes:
    """Read until the peer closes; returns what it sent. Fails if it keeps the line open."""
    sock.settimeout(seconds)
    got = bytearray()
    deadline = time.monotonic() + seconds
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(got)
        except TimeoutError:
            raise AssertionError(f"the service kept an unauthenticated connection open "
                                 f"for {seconds}s (received {bytes(got[:64])!r})") from None
        if not chunk:
            return bytes(got)
        got += chunk
        if time.monotonic() > deadline:
            raise AssertionError("the service kept sending to an unauthenticated peer")



def connect_http(url: str) -> socket.socket:
    """A raw TCP connection to an http://host:port URL."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def read_http_head(s: socket.socket) -> bytes:
    """What the server sends up to the end of its response head (or until it closes)."""
    s.settimeout(10)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return got

def ember_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ember._cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def run_driver(head: Head, code: str) -> str:
    """A real client: a driver attached to the head that runs `code` and prints a result."""
    out = subprocess.run([sys.executable, "-c", code], env=head.env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


REAL_DRIVER = """
import ember
ember.init(address="auto")
@ember.remote
def f(x):
    return x * 2
print(ember.get(f.remote(21)))
"""


class SlowSender:
    """Sends `data` one byte every `interval` seconds on a thread, until the peer drops
    it or `stop()`; `closed_after` holds how long the peer let it go on."""

    def __init__(self, sock: socket.socket, data: bytes, interval: float = 0.1) -> None:
        self._sock = sock
        self._data = data
        self._interval = interval
        self._stop = threading.Event()
        self.closed_after: float | None = None
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> SlowSender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        start = time.monotonic()
        try:
            for byte in self._data:
                if self._stop.wait(self._interval):
                    return
                self._sock.sendall(bytes([byte]))
        except OSError:
            pass
        self.closed_after = time.monotonic() - start
