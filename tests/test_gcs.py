"""The control store over real gRPC: membership, heartbeats, actors, jobs, KV, pubsub,
persistence across a head restart, and token authentication."""

from __future__ import annotations

import dataclasses
import os
import queue
import shutil
import signal
import subprocess
import sys
import time

import grpc
import pytest

from ember._cluster import auth
from ember._cluster.gcs_client import GcsClient
from ember._cluster.gcs_server import GcsServer
from ember._cluster.protos import gcs_pb2 as pb

TOKEN = "test-token-0123456789"


@pytest.fixture
def gcs():
    server = GcsServer(TOKEN, heartbeat_period_s=0.1, dead_after_s=0.5).start()
    client = GcsClient(server.address, TOKEN)
    yield server, client
    client.close()
    server.stop()


def _until(cond, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_binds_to_loopback_by_default(gcs):
    server, _ = gcs
    assert server.address.startswith("127.0.0.1:")


def test_node_membership_and_heartbeats(gcs):
    _, client = gcs
    assert client.register_node("n1", "127.0.0.1:1", {"CPU": 4}) == pytest.approx(0.1)
    client.register_node("n2", "127.0.0.1:2", {"CPU": 2, "GPU": 1})
    assert client.heartbeat("n1", {"CPU": 3})
    nodes = {n.node_id: n for n in client.nodes()}
    assert nodes["n1"].available["CPU"] == 3 and nodes["n2"].resources["GPU"] == 1
    # n2 stops heartbeating and is declared dead; n1 keeps going.
    assert _until(lambda: client.heartbeat("n1", {"CPU": 3}) and
                  {n.node_id: n.state for n in client.nodes()}["n2"] == "DEAD")
    dead = {n.node_id: n for n in client.nodes()}["n2"]
    assert "heartbeat" in dead.death_reason
    assert not client.heartbeat("n2", {})  # a dead node must re-register


def test_pubsub_reports_node_changes(gcs):
    _, client = gcs
    got: queue.Queue = queue.Queue()
    stop = client.subscribe_in_background(["NODE"], got.put)
    time.sleep(0.2)
    client.register_node("n3", "127.0.0.1:3", {"CPU": 1})
    msg = got.get(timeout=5)
    assert msg.channel == "NODE" and msg.key == "n3"
    assert pb.Node.FromString(msg.data).state == "ALIVE"
    stop()


def test_named_actor_directory(gcs):
    _, client = gcs
    a = pb.Actor(actor_id=b"a" * 16, name="svc", namespace="ns", class_name="Svc",
                 state="ALIVE", node_id="n1")
    _, existed = client.register_actor(a)
    assert not existed
    found = client.get_named_actor("svc", "ns")
    assert found.actor_id == b"a" * 16
    assert client.get_named_actor("svc", "other") is None
    with pytest.raises(grpc.RpcError) as err:
        client.register_actor(pb.Actor(actor_id=b"b" * 16, name="svc", namespace="ns"))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    same, existed = client.register_actor(pb.Actor(actor_id=b"c" * 16, name="svc",
                                                   namespace="ns"), get_if_exists=True)
    assert existed and same.actor_id == b"a" * 16


def test_jobs_and_placement_groups(gcs):
    _, client = gcs
    client.add_job(pb.Job(job_id="01", entrypoint="python x.py", driver_pid=1))
    client.finish_job("01", "SUCCEEDED")
    (job,) = client.jobs()
    assert job.status == "SUCCEEDED" and job.end_time >= job.start_time
    pg = pb.PlacementGroup(pg_id="pg1", strategy="PACK", state="CREATED",
                           bundles=[pb.Bundle(resources={"CPU": 1})])
    client.put_placement_group(pg)
    assert client.placement_groups()[0].bundles[0].resources["CPU"] == 1


def test_kv_store(gcs):
    _, client = gcs
    assert client.kv_put(b"a/1", b"x")
    assert not client.kv_put(b"a/1", b"y", overwrite=False)
    assert client.kv_get(b"a/1") == b"x"
    client.kv_put(b"a/2", b"z")
    client.kv_put(b"a/1", b"other namespace", ns="ns2")
    assert sorted(client.kv_keys(b"a/")) == [b"a/1", b"a/2"]
    assert client.kv_del(b"a/", by_prefix=True) == 2
    assert client.kv_get(b"a/1") is None
    assert client.kv_get(b"a/1", ns="ns2") == b"other namespace"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_refused(gcs, token):
    server, _ = gcs
    channel = grpc.insecure_channel(server.address)
    stub = __import__("ember._cluster.protos.gcs_pb2_grpc", fromlist=["x"]).ControlStoreStub(
        channel)
    md = auth.metadata(token) if token else None
    with pytest.raises(grpc.RpcError) as err:
        stub.KVPut(pb.KVPutRequest(key=b"k", value=b"v"), metadata=md, timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Subscribe(pb.SubscribeRequest(), metadata=md, timeout=5))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()
    # Nothing was written.
    assert GcsClient(server.address, TOKEN).kv_get(b"k") is None


def _start_gcs_process(tmp_path, storage: str) -> tuple[subprocess.Popen, str]:
    token_file = tmp_path / "token"
    auth.write_token(str(token_file), TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember._cluster.gcs_server", "--storage", storage,
         "--token-file", str(token_file), "--heartbeat-period", "0.1", "--dead-after", "30"],
        stdout=subprocess.PIPE, text=True)
    address = proc.stdout.readline().strip()
    assert address, "the control store did not start"
    return proc, address


def test_state_survives_a_killed_head(tmp_path):
    db = str(tmp_path / "gcs.sqlite")
    proc, address = _start_gcs_process(tmp_path, db)
    try:
        client = GcsClient(address, TOKEN)
        client.register_node("n1", "127.0.0.1:1", {"CPU": 4})
        client.register_actor(pb.Actor(actor_id=b"d" * 16, name="kept", namespace="ns",
                                       state="ALIVE", detached=True))
        client.kv_put(b"key", b"value")
        client.add_job(pb.Job(job_id="07"))
        client.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc, address = _start_gcs_process(tmp_path, db)
    try:
        client = GcsClient(address, TOKEN)
        assert client.kv_get(b"key") == b"value"
        assert client.get_named_actor("kept", "ns").actor_id == b"d" * 16
        assert [n.node_id for n in client.nodes()] == ["n1"]
        assert client.heartbeat("n1", {"CPU": 4})  # alive nodes get a grace period
        assert [j.job_id for j in client.jobs()] == ["07"]
        client.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server binary")
def test_redis_storage_backend(tmp_path):
    pytest.importorskip("redis")
    port = 6399
    redis_proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        assert _until(lambda: _redis_up(url))
        server = GcsServer(TOKEN, storage=url).start()
        client = GcsClient(server.address, TOKEN)
        client.kv_put(b"k", b"v")
        client.close()
        server.stop()
        server = GcsServer(TOKEN, storage=url).start()
        client = GcsClient(server.address, TOKEN)
        assert client.kv_get(b"k") == b"v"
        client.close()
        server.stop()
    finally:
        redis_proc.terminate()
        redis_proc.wait()


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.exceptions.ConnectionError:
        return False


def test_token_file_is_owner_only(tmp_path):
    path = tmp_path / "token"
    auth.write_token(str(path), auth.new_token())
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert len(path.read_text()) >= 32


def test_generated_protobuf_modules_are_up_to_date(tmp_path):
    pytest.importorskip("grpc_tools")
    from pathlib import Path

    from ember._cluster.protos import generate

    generate.generate(tmp_path)
    committed = Path(generate.__file__).parent
    for fresh in (tmp_path / "ember" / "_cluster" / "protos").glob("*_pb2*"):
        assert fresh.read_text() == (committed / fresh.name).read_text(), (
            f"{fresh.name} is stale: run `uv run python -m ember._cluster.protos.generate`")


def test_only_the_newest_dead_actor_rows_are_kept(monkeypatch):
    monkeypatch.setenv("RAY_maximum_gcs_destroyed_actor_cached_count", "2")
    from ember._core.node.cluster_port import ActorRow

    server = GcsServer(TOKEN).start()
    client = GcsClient(server.address, TOKEN)
    try:
        rows = [ActorRow(actor_id=bytes([i]) * 16, name="", namespace="", class_name="A",
                         state="ALIVE", owner_node="n1", data=b"") for i in range(4)]
        for row in rows:
            client.register_actor(row)
        for row in rows[:3]:
            client.update_actor(dataclasses.replace(row, state="DEAD"))
        kept = {a.actor_id: a.state for a in client.actors()}
        assert kept == {rows[1].actor_id: "DEAD", rows[2].actor_id: "DEAD",
                        rows[3].actor_id: "ALIVE"}
        dropped = client.get_actor(rows[0].actor_id)  # callers still learn it is dead
        assert dropped is not None and dropped.state == "DEAD"
        # The ids of evicted actors are remembered up to 10 × the cap (20 here), oldest
        # forgotten first: the store does not grow with every actor that ever died.
        more = [ActorRow(actor_id=bytes([100 + i]) * 16, name="", namespace="",
                         class_name="A", state="DEAD", owner_node="n1", data=b"")
                for i in range(25)]
        for row in more:
            client.register_actor(row)
        assert client.get_actor(rows[0].actor_id) is None  # forgotten, as in Ray
        assert client.get_actor(more[0].actor_id) is None
        assert [client.get_actor(r.actor_id).state for r in more[5:]] == ["DEAD"] * 20
        assert len(server.service._evicted) == 20
    finally:
        client.close()
        server.stop()
