"""The node's socket messages: typed on both ends, (kind number, *fields) on the wire."""

from __future__ import annotations

import pickle
import socket
import struct

import pytest

from ember._core.common import framing, messages


def _sample(kind: type) -> tuple:
    fields = kind._fields  # type: ignore[attr-defined]
    return kind(*[f"{kind.__name__}.{f}" for f in fields])


def test_every_kind_round_trips_over_a_real_socket_pair():
    a, b = socket.socketpair()
    sender, receiver = framing.Connection(a), framing.Connection(b)
    try:
        sent = [_sample(kind) for kind in messages.KINDS]
        sender.send_many(sent[:5])
        for msg in sent[5:]:
            sender.send(msg)
        got: list = []
        while len(got) < len(sent):
            got += receiver.recv_blocking()
        assert got == sent
        assert [type(m) for m in got] == list(messages.KINDS)
        assert got[3].task_id == "TaskDone.task_id"  # fields by name on the receiving end
    finally:
        sender.close()
        receiver.close()


def test_the_wire_form_carries_no_class_reference():
    wire = pickle.dumps(messages.encode(messages.Reply(7, True, 42)), protocol=5)
    assert b"ember" not in wire and b"Reply" not in wire
    assert messages.decode(pickle.loads(wire)) == messages.Reply(7, True, 42)


@pytest.mark.parametrize("wire", [("x",), (999,), (0, 1), "text", 5, None, (-1, 1, 2)])
def test_a_frame_that_is_no_message_drops_the_peer(wire):
    a, b = socket.socketpair()
    receiver = framing.Connection(b)
    try:
        data = pickle.dumps(wire, protocol=5)
        a.sendall(struct.pack("<I", len(data)) + data)
        with pytest.raises(ConnectionError):
            receiver.recv_blocking()
    finally:
        a.close()
        receiver.close()
