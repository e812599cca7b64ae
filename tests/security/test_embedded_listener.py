"""Attacks on the socket an embedded cluster (`ember.init()`) opens for other drivers
(`init("auto")` joins it): the token handshake comes before any application byte."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import ember
from ember._cluster.connect import cluster_file
from ember._core.common.handshake import MAGIC
from security.attacks import HANDSHAKE_TIMEOUT_S, closes_within, pickle_attack, rss_bytes
from security.test_raw_listeners import _answer, _greeting


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Iterator[dict]:
    saved = {k: os.environ.get(k) for k in ("EMBER_TMPDIR", "EMBER_HANDSHAKE_TIMEOUT_S")}
    os.environ["EMBER_TMPDIR"] = str(tmp_path_factory.mktemp("embedded"))
    os.environ["EMBER_HANDSHAKE_TIMEOUT_S"] = str(HANDSHAKE_TIMEOUT_S)
    if ember.is_initialized():
        ember.shutdown()
    ember.init(num_cpus=1)
    try:
        with open(cluster_file()) as f:
            info = json.load(f)
        with open(info["token_file"]) as f:
            info["token"] = f.read().strip()
        yield info
    finally:
        ember.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _connect(info: dict) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(info["node_socket"])
    return s


def test_the_socket_is_the_owners_only(embedded):
    assert os.stat(embedded["node_socket"]).st_mode & 0o077 == 0
    assert os.stat(embedded["token_file"]).st_mode & 0o077 == 0


def test_no_token_is_dropped_after_the_handshake_deadline(embedded):
    with _connect(embedded) as s:
        _greeting(s)
        start = time.monotonic()
        assert closes_within(s, HANDSHAKE_TIMEOUT_S + 5) == b""
        assert time.monotonic() - start >= HANDSHAKE_TIMEOUT_S * 0.5


def test_wrong_token_is_refused(embedded):
    with _connect(embedded) as s:
        nonce = _greeting(s)
        s.sendall(_answer("not-the-token", nonce))
        assert closes_within(s, 5) == b"\x00"


def test_pickle_payload_is_never_unpickled(embedded, tmp_path):
    marker = tmp_path / "pwned"
    with _connect(embedded) as s:
        s.sendall(pickle_attack(marker))
        assert closes_within(s, HANDSHAKE_TIMEOUT_S + 5).startswith(MAGIC)
    assert not marker.exists(), "the embedded node unpickled attacker bytes"


def test_huge_length_and_garbage_are_refused(embedded):
    before = rss_bytes(os.getpid())
    for payload in (b"\xff\xff\xff\x7f" * 10, os.urandom(4096)):
        with _connect(embedded) as s:
            s.sendall(payload)
            assert closes_within(s, 5)[len(MAGIC) + 16:] in (b"", b"\x00")
    assert rss_bytes(os.getpid()) - before < 32 * 1024 * 1024


def test_a_real_driver_joins_after_the_attacks(embedded):
    out = subprocess.run(
        [sys.executable, "-c", "import ember; ember.init('auto');"
         "print(ember.get(ember.remote(lambda: 41 + 1).remote()))"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "42"
