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


def test_specs_travel_as_their_fields_and_come_back_typed():
    from ember._core.common import specs

    task = specs.TaskSpec(task_id=b"t" * 16, name="f", args=b"a", deps=[b"d" * 20],
                          fn_id=b"f" * 16, resources={"CPU": 1.0}, pg=("ab", 0))
    actor = specs.ActorSpec(actor_id=b"x" * 16, class_name="A", name="named",
                            concurrency_groups={"io": 2}, max_restarts=3)
    a, b = socket.socketpair()
    sender, receiver = framing.Connection(a), framing.Connection(b)
    try:
        sender.send(messages.Execute("task", task.encode()))
        sender.send(messages.Execute("actor_init", actor.encode()))
        got: list = []
        while len(got) < 2:
            got += receiver.recv_blocking()
    finally:
        sender.close()
        receiver.close()
    back = [specs.decode(m.kind, m.spec) for m in got]
    assert back == [task, actor]
    assert type(back[0]) is specs.TaskSpec and type(back[1]) is specs.ActorSpec
    assert back[1].task_id == actor.actor_id  # the constructor runs as the actor's id
    # Nested in other messages (a worker's submission), a spec pickles by its fields.
    wire = pickle.dumps(messages.encode(messages.Request(1, "submit_task", (task,))))
    assert b"resources" not in wire
    assert pickle.loads(wire)[3][0] == task


def test_a_spec_copy_per_call_leaves_the_template_alone():
    from ember._core.common import specs

    template = specs.TaskSpec(fn_id=b"f" * 16, name="f", resources={"CPU": 1.0})
    call = template.call(b"t" * 16, b"args", [b"d" * 20], [])
    assert (call.task_id, call.args, call.deps) == (b"t" * 16, b"args", [b"d" * 20])
    assert (template.task_id, template.args, template.deps) == (b"", b"", [])
    assert call.resources is template.resources and call.name == "f"
    copied = specs.copy_spec(call)
    copied.gpu_ids = [0]
    assert call.gpu_ids is None and copied == specs.TaskSpec(**{
        **{f: getattr(call, f) for f in call.__dataclass_fields__}, "gpu_ids": [0]})
