"""Attacks on the Serve admin API (`ember serve start`): deploying means running code,
so every request needs the host's token before its body is read."""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import time

import httpx
import pytest

from security.attacks import MarkerPayload, SlowSender, closes_within, read_http_head, rss_bytes

API = "/api/serve/applications/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-admin")
    state = tmp / "state.json"
    env = dict(os.environ, EMBER_SERVE_STATE=str(state), TMPDIR=str(tmp))
    env.pop("EMBER_TMPDIR", None)
    log = open(tmp / "host.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember.serve._cli", "start", "--port", str(_free_port()),
         "--admin-port", str(_free_port()), "--num-cpus", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, (tmp / "host.log").read_text()
            assert time.monotonic() < deadline, "the Serve host did not start"
            time.sleep(0.05)
        info = json.loads(state.read_text())
        yield info["address"], info["token"], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _raw(address: str) -> socket.socket:
    host, port = address.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def test_no_token_and_wrong_token_are_refused(admin):
    address, token, _ = admin
    assert httpx.get(address + API).status_code == 401
    assert httpx.get(address + API, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.delete(address + API, headers={"Authorization": token}).status_code == 401


def test_pickle_body_without_token_is_not_read(admin, tmp_path):
    address, _, _ = admin
    marker = tmp_path / "pwned"
    body = pickle.dumps(MarkerPayload(marker), protocol=5)
    r = httpx.put(address + API, content=body,
                  headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 401
    assert not marker.exists()


def test_huge_declared_body_is_refused_unread(admin):
    address, token, pid = admin
    before = rss_bytes(pid)
    for auth in ("", f"Authorization: Bearer {token}\r\n"):
        with _raw(address) as s:
            s.sendall((f"PUT {API} HTTP/1.1\r\nHost: x\r\n{auth}"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 100000000000\r\n\r\n").encode() + b"{" * 1024)
            reply = read_http_head(s)
        assert reply.split(b" ", 2)[1] in (b"401", b"413"), reply[:200]
    assert rss_bytes(pid) - before < 32 * 1024 * 1024



def test_garbage_is_answered_with_an_error_and_closed(admin):
    address, _, _ = admin
    with _raw(address) as s:
        s.sendall(os.urandom(4096) + b"\r\n\r\n")
        reply = closes_within(s, 10)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")


def test_slow_sender_does_not_block_real_clients(admin):
    address, token, _ = admin
    with SlowSender(_raw(address), f"GET {API} HTTP/1.1\r\nHost: x\r\n".encode()):
        start = time.monotonic()
        r = httpx.get(address + API, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200
        assert time.monotonic() - start < 10


def test_real_client_is_served(admin):
    address, token, _ = admin
    r = httpx.get(address + API, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200
    assert "applications" in r.json()
