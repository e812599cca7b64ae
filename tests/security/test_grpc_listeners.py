"""Attacks on the gRPC listeners: the control store and a node's NodeService. Every call
must carry the cluster token in its metadata; a call without it is refused before its
request bytes are deserialized, and no message may exceed the configured size."""

from __future__ import annotations

import os
import pickle
import socket
import time

import grpc
import pytest

from security.attacks import (
    GRPC_LIMIT,
    REAL_DRIVER,
    MarkerPayload,
    SlowSender,
    closes_within,
    rss_bytes,
    run_driver,
)

TARGETS = {
    "control_store": ("gcs_address", "/ember.gcs.ControlStore/ListNodes"),
    "node_service": ("node_address", "/ember.node.NodeService/ForwardTask"),
}


def _call(head, target: str, payload: bytes, token: str | None) -> grpc.StatusCode:
    attr, method = TARGETS[target]
    options = [("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(getattr(head, attr), options=options) as channel:
        call = channel.unary_unary(method)  # raw bytes in, raw bytes out
        metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
        try:
            call(payload, metadata=metadata, timeout=30)
        except grpc.RpcError as e:
            return e.code()
    return grpc.StatusCode.OK


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a service unpickled attacker bytes"


@pytest.mark.parametrize("target", list(TARGETS))
def test_no_token_is_refused(head, target):
    assert _call(head, target, b"", None) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("target", list(TARGETS))
def test_wrong_token_is_refused(head, target):
    assert _call(head, target, b"", "wrong") == grpc.StatusCode.UNAUTHENTICATED
    assert _call(head, target, b"", head.token + "x") == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("target", list(TARGETS))
def test_pickle_payload_is_never_unpickled(head, target, marker):
    payload = pickle.dumps(MarkerPayload(marker), protocol=5)
    assert _call(head, target, payload, None) == grpc.StatusCode.UNAUTHENTICATED
    assert _call(head, target, payload, "wrong") == grpc.StatusCode.UNAUTHENTICATED
    assert not marker.exists()


@pytest.mark.parametrize("target", list(TARGETS))
def test_oversized_message_is_refused_with_bounded_memory(head, target):
    before = rss_bytes(head.pid)
    code = _call(head, target, b"\x00" * (4 * GRPC_LIMIT), "wrong")
    assert code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAUTHENTICATED)
    code = _call(head, target, b"\x00" * (4 * GRPC_LIMIT), head.token)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert rss_bytes(head.pid) - before < 4 * GRPC_LIMIT


@pytest.mark.parametrize("target", list(TARGETS))
def test_garbage_closes_the_connection(head, target):
    host, port = getattr(head, TARGETS[target][0]).rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(os.urandom(8192))
        closes_within(s, 10)


@pytest.mark.parametrize("target", list(TARGETS))
def test_slow_sender_does_not_block_real_clients(head, target):
    host, port = getattr(head, TARGETS[target][0]).rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    with SlowSender(s, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
        start = time.monotonic()
        assert run_driver(head, REAL_DRIVER) == "42"
        assert time.monotonic() - start < 60


def test_real_clients_are_served_after_the_attacks(head):
    from ember._cluster.gcs_client import GcsClient

    client = GcsClient(head.gcs_address, head.token)
    try:
        assert any(n.is_head for n in client.nodes())
    finally:
        client.close()
    assert run_driver(head, REAL_DRIVER) == "42"
