"""Attacks on the head's dashboard (Jobs API, state, logs, metrics): submitting a job means
running a command, so nothing but the token page is served without the cluster token, and
no request body is read before it is checked (Ray's CVE-2023-48022 is the failure)."""

from __future__ import annotations

import asyncio
import os
import pickle
import time

import httpx
import pytest

from security.attacks import (
    REAL_DRIVER,
    MarkerPayload,
    SlowSender,
    closes_within,
    connect_http,
    read_http_head,
    rss_bytes,
    run_driver,
)

JOBS = "/api/jobs/"


@pytest.fixture(scope="module")
def dash(head):
    url = head.info["dashboard_url"]
    assert url and url.startswith("http://127.0.0.1:")
    return url, {"Authorization": f"Bearer {head.token}"}




def test_no_token_wrong_token_and_wrong_scheme_are_refused(dash, head):
    url, _ = dash
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": head.token},
                    {"Authorization": f"Basic {head.token}"},
                    {"Authorization": f"Bearer {head.token}x"}):
        for method, path in (("GET", JOBS), ("POST", JOBS), ("GET", "/metrics"),
                             ("GET", "/api/v0/tasks"), ("GET", "/api/v0/logs/file"),
                             ("PUT", "/api/packages/gcs/_ray_pkg_00000000.zip"),
                             ("POST", "/api/jobs/x/stop"), ("DELETE", "/api/jobs/x")):
            r = httpx.request(method, url + path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
    assert httpx.get(url + "/").status_code == 200  # the page that asks for the token


def test_job_submission_without_the_token_runs_nothing(dash, tmp_path):
    url, _ = dash
    marker = tmp_path / "pwned"
    r = httpx.post(url + JOBS, json={"entrypoint": f"touch {marker}"})
    assert r.status_code == 401
    r = httpx.post(url + JOBS, content=pickle.dumps(MarkerPayload(marker), protocol=5),
                   headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 401
    time.sleep(0.5)  # a command, had one started, would have made the file by now
    assert not marker.exists()


def test_huge_declared_body_is_refused_unread(dash, head):
    url, auth = dash
    before = rss_bytes(head.pid)
    for header in ("", f"Authorization: {auth['Authorization']}\r\n"):
        with connect_http(url) as s:
            s.sendall((f"POST {JOBS} HTTP/1.1\r\nHost: x\r\n{header}"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 100000000000\r\n\r\n").encode() + b"{" * 4096)
            reply = read_http_head(s)
        assert reply.split(b" ", 2)[1] in (b"401", b"413"), reply[:200]
    assert rss_bytes(head.pid) - before < 32 * 1024 * 1024


def test_huge_headers_and_garbage_are_answered_and_closed(dash, head):
    url, _ = dash
    before = rss_bytes(head.pid)
    with connect_http(url) as s:
        try:  # the server may hang up before all of it is sent
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20))
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = closes_within(s, 10)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    with connect_http(url) as s:
        s.sendall(os.urandom(4096) + b"\r\n\r\n")
        reply = closes_within(s, 10)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert rss_bytes(head.pid) - before < 32 * 1024 * 1024


def test_paths_in_names_reach_no_file(dash, head):
    url, auth = dash
    for name in ("../token", "/etc/passwd", head.info["token_file"]):
        r = httpx.get(url + "/api/v0/logs/file", params={"filename": name}, headers=auth)
        assert r.status_code == 404 and head.token not in r.text
    r = httpx.put(url + "/api/packages/gcs/..%2F..%2Fevil.zip", content=b"x", headers=auth)
    assert r.status_code in (400, 404)
    r = httpx.get(url + "/api/jobs/..%2F..%2Fetc", headers=auth)
    assert r.status_code == 404


def test_slow_sender_does_not_block_real_clients(dash):
    url, auth = dash
    with SlowSender(connect_http(url), f"GET {JOBS} HTTP/1.1\r\nHost: x\r\n".encode()):
        start = time.monotonic()
        r = httpx.get(url + JOBS, headers=auth, timeout=30)
        assert r.status_code == 200
        assert time.monotonic() - start < 10


def _upgrade(path: str, header: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\n{header}\r\n").encode()


# A masked text frame that declares 1 TiB of payload, then a little of it.
HUGE_FRAME = b"\x81\xff" + (1 << 40).to_bytes(8, "big") + b"\0\0\0\0" + b"x" * 4096


def test_websocket_without_the_token_is_refused_before_any_frame(dash, head):
    url, _ = dash
    before = rss_bytes(head.pid)
    for header in ("", "Authorization: Bearer wrong\r\n", f"Authorization: {head.token}\r\n",
                   f"Authorization: Bearer {head.token}x\r\n"):
        with connect_http(url) as s:  # the frame after the upgrade request is never read
            s.sendall(_upgrade("/api/jobs/x/logs/tail", header) + HUGE_FRAME)
            reply = read_http_head(s)
        assert reply.startswith(b"HTTP/1.1 401 "), (header, reply[:200])
        assert b"upgrade: websocket" not in reply.lower()

    async def tail() -> None:
        from websockets.asyncio.client import connect

        async with connect(url.replace("http", "ws") + "/api/jobs/x/logs/tail",
                           additional_headers={"Authorization": "Bearer wrong"}):
            pass

    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus, match="401"):
        asyncio.run(tail())
    assert rss_bytes(head.pid) - before < 32 * 1024 * 1024


def test_websocket_frames_are_bounded_even_with_the_token(dash, head):
    url, auth = dash
    r = httpx.post(url + JOBS, json={"entrypoint": "sleep 60"}, headers=auth)
    sid = r.json()["submission_id"]
    before = rss_bytes(head.pid)
    try:
        with connect_http(url) as s:
            s.sendall(_upgrade(f"/api/jobs/{sid}/logs/tail",
                               f"Authorization: {auth['Authorization']}\r\n"))
            assert read_http_head(s).startswith(b"HTTP/1.1 101 ")
            try:
                s.sendall(HUGE_FRAME)
            except (BrokenPipeError, ConnectionResetError):
                pass
            reply = closes_within(s, 10)
        # Closed with 1009 (message too big) without reading the payload.
        assert reply.startswith(b"\x88") and reply[2:4] == (1009).to_bytes(2, "big"), reply
    finally:
        httpx.post(url + f"/api/jobs/{sid}/stop", headers=auth)
    assert rss_bytes(head.pid) - before < 32 * 1024 * 1024


def test_real_clients_are_served_after_the_attacks(dash, head):
    url, auth = dash
    r = httpx.get(url + "/api/v0/nodes", headers=auth, timeout=30)
    rows = r.json()["data"]["result"]["result"]
    assert r.status_code == 200 and any(n["is_head_node"] and n["state"] == "ALIVE"
                                        for n in rows)
    assert run_driver(head, REAL_DRIVER) == "42"
