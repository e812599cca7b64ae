"""Attacks on a worker node's own server (Ray's per-node metrics export port,
`ember start --address … --metrics-export-port N`): the same gate as the head's dashboard,
so nothing is served and no body is read without the cluster token."""

from __future__ import annotations

import glob
import json
import os
import pickle
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from procs import is_running

from security.attacks import (
    REAL_DRIVER,
    Head,
    MarkerPayload,
    SlowSender,
    closes_within,
    connect_http,
    ember_cli,
    read_http_head,
    rss_bytes,
    run_driver,
)


@dataclass
class Node:
    url: str
    pid: int
    node_id: str
    auth: dict[str, str]


@pytest.fixture(scope="module")
def node(head: Head) -> Iterator[Node]:
    """A worker node joined to the head, serving its metrics on a port of its own."""
    nodes_dir = os.path.join(os.path.dirname(head.info["token_file"]), os.pardir,
                             "worker_nodes")
    before = set(glob.glob(os.path.join(nodes_dir, "*.json")))
    out = ember_cli(head.env, "start", "--address", head.gcs_address, "--num-cpus", "1",
                    "--metrics-export-port", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    (path,) = set(glob.glob(os.path.join(nodes_dir, "*.json"))) - before
    with open(path) as f:
        record = json.load(f)
    pid = int(os.path.basename(path).split(".")[0])
    assert record["metrics_url"].startswith("http://127.0.0.1:")
    yield Node(record["metrics_url"], pid, record["node_id"],
               {"Authorization": f"Bearer {head.token}"})
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_running(pid):
        os.kill(pid, signal.SIGKILL)
    os.remove(path)




def test_no_token_wrong_token_and_wrong_scheme_are_refused(node, head):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": head.token},
                    {"Authorization": f"Basic {head.token}"},
                    {"Authorization": f"Bearer {head.token}x"}):
        for method, path in (("GET", "/metrics"), ("GET", "/api/v0/tasks"),
                             ("GET", "/api/v0/nodes"), ("GET", "/api/v0/logs"),
                             ("GET", "/api/v0/logs/file"), ("GET", "/api/v0/timeline"),
                             ("POST", "/api/jobs/"), ("GET", "/api/serve/applications/")):
            r = httpx.request(method, node.url + path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
        with connect_http(node.url) as s:  # a WebSocket upgrade is refused the same way
            header = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            s.sendall((f"GET /api/jobs/x/logs/tail HTTP/1.1\r\nHost: x\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       f"Sec-WebSocket-Version: 13\r\n{header}\r\n").encode())
            assert read_http_head(s).startswith(b"HTTP/1.1 401 ")


def test_a_pickled_body_without_the_token_runs_nothing(node, tmp_path):
    marker = tmp_path / "pwned"
    for body in (json.dumps({"entrypoint": f"touch {marker}"}).encode(),
                 pickle.dumps(MarkerPayload(marker), protocol=5)):
        r = httpx.post(node.url + "/api/jobs/", content=body)
        assert r.status_code == 401
    time.sleep(0.5)  # a command, had one started, would have made the file by now
    assert not marker.exists()


def test_huge_declared_body_is_refused_unread(node):
    before = rss_bytes(node.pid)
    for header in ("", f"Authorization: {node.auth['Authorization']}\r\n"):
        with connect_http(node.url) as s:
            s.sendall(("POST /api/jobs/ HTTP/1.1\r\nHost: x\r\n" + header +
                       "Content-Type: application/json\r\n"
                       "Content-Length: 100000000000\r\n\r\n").encode() + b"{" * 4096)
            reply = read_http_head(s)
        assert reply.split(b" ", 2)[1] in (b"401", b"413"), reply[:200]
    assert rss_bytes(node.pid) - before < 32 * 1024 * 1024


def test_huge_headers_and_garbage_are_answered_and_closed(node):
    before = rss_bytes(node.pid)
    with connect_http(node.url) as s:
        try:  # the server may hang up before all of it is sent
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20))
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = closes_within(s, 10)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    with connect_http(node.url) as s:
        s.sendall(os.urandom(4096) + b"\r\n\r\n")
        reply = closes_within(s, 10)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert rss_bytes(node.pid) - before < 32 * 1024 * 1024


def test_slow_sender_does_not_block_real_clients(node):
    with SlowSender(connect_http(node.url), b"GET /metrics HTTP/1.1\r\nHost: x\r\n"):
        start = time.monotonic()
        r = httpx.get(node.url + "/metrics", headers=node.auth, timeout=30)
        assert r.status_code == 200
        assert time.monotonic() - start < 10


def test_real_clients_are_served_after_the_attacks(node, head):
    r = httpx.get(node.url + "/metrics", headers=node.auth, timeout=30)
    assert r.status_code == 200 and f'NodeId="{node.node_id}"' in r.text
    assert is_running(node.pid)
    assert run_driver(head, REAL_DRIVER) == "42"
