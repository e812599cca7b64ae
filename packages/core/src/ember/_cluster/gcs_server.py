"""The control store (GCS) service: membership, actors, jobs, placement groups, KV, pubsub.

State is kept in memory and written through to a Storage (SQLite by default) before each
RPC returns, so a restarted head picks up where it left off: nodes that were alive get a
grace period to heartbeat again before they are declared dead.
"""

from __future__ import annotations

import argparse
import queue
import threading
import time
from concurrent import futures
from typing import Any

import grpc

from ember._cluster import auth
from ember._cluster.protos import gcs_pb2 as pb
from ember._cluster.protos import gcs_pb2_grpc as pb_grpc
from ember._cluster.storage import Storage, open_storage
from ember._core.common import limits

CHANNELS = ("NODE", "ACTOR", "JOB", "PG", "KV")


class _Table:
    """A dict of protobuf messages written through to storage."""

    def __init__(self, storage: Storage, name: str, cls: Any) -> None:
        self.storage = storage
        self.name = name
        self.rows: dict[bytes, Any] = {}
        for key, value in storage.items(name):
            self.rows[key] = cls.FromString(value)

    def put(self, key: bytes, msg: Any) -> None:
        self.rows[key] = msg
        self.storage.put(self.name, key, msg.SerializeToString())

    def delete(self, key: bytes) -> None:
        if self.rows.pop(key, None) is not None:
            self.storage.delete(self.name, key)


class ControlStore(pb_grpc.ControlStoreServicer):
    def __init__(self, storage: Storage, heartbeat_period_s: float = 1.0,
                 dead_after_s: float = 10.0) -> None:
        self.storage = storage
        self.period = heartbeat_period_s
        self.dead_after = dead_after_s
        self.lock = threading.RLock()
        self.nodes = _Table(storage, "node", pb.Node)
        self.actors = _Table(storage, "actor", pb.Actor)
        self.jobs = _Table(storage, "job", pb.Job)
        self.pgs = _Table(storage, "pg", pb.PlacementGroup)
        # Dead actors' rows are kept newest first up to a cap, as Ray's GCS keeps them;
        # the ids of the last 10 × that many evicted actors are remembered, so that a
        # lookup still learns such an actor is dead (older ones are not found, as in Ray).
        self.dead_kept = limits.dead_actors_kept()
        self._dead: dict[bytes, None] = {k: None for k, a in self.actors.rows.items()
                                         if a.state == "DEAD"}
        self._evicted: dict[bytes, None] = {}  # oldest first
        self._evicted_kept = max(1, 10 * self.dead_kept)
        self._evict_dead()
        self.subscribers: list[tuple[set[str], queue.Queue]] = []
        now = time.time()
        for node in self.nodes.rows.values():
            if node.state == "ALIVE":
                node.last_heartbeat = now  # a grace period after a head restart
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch_heartbeats, daemon=True,
                                         name="ember-gcs-heartbeats")
        self._monitor.start()

    # -- pubsub -----------------------------------------------------------------------

    def publish(self, channel: str, key: str, msg: Any) -> None:
        data = msg.SerializeToString() if msg is not None else b""
        for channels, q in list(self.subscribers):
            if channel in channels:
                q.put(pb.PubMessage(channel=channel, key=key, data=data))

    def Subscribe(self, request: Any, context: grpc.ServicerContext) -> Any:
        channels = set(request.channels) or set(CHANNELS)
        q: queue.Queue = queue.Queue()
        entry = (channels, q)
        with self.lock:
            self.subscribers.append(entry)

        def remove() -> None:
            with self.lock:
                if entry in self.subscribers:
                    self.subscribers.remove(entry)
            q.put(None)

        context.add_callback(remove)
        while context.is_active():
            try:
                msg = q.get(timeout=0.5)
            except queue.Empty:
                continue
            if msg is None:
                return
            yield msg

    # -- nodes ------------------------------------------------------------------------

    def RegisterNode(self, request: Any, context: Any) -> Any:
        node = pb.Node()
        node.CopyFrom(request.node)
        if not node.node_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "node_id is required")
        now = time.time()
        node.state = "ALIVE"
        node.start_time = node.start_time or now
        node.last_heartbeat = now
        if not node.available:
            node.available.update(node.resources)
        with self.lock:
            self.nodes.put(node.node_id.encode(), node)
            self.publish("NODE", node.node_id, node)
        return pb.RegisterNodeReply(heartbeat_period_s=self.period)

    def Heartbeat(self, request: Any, context: Any) -> Any:
        with self.lock:
            node = self.nodes.rows.get(request.node_id.encode())
            if node is None or node.state != "ALIVE":
                return pb.HeartbeatReply(known=False)
            node.last_heartbeat = time.time()
            node.available.clear()
            node.available.update(request.available)
            node.pending_demand = request.pending_demand
            node.stats.clear()
            node.stats.update(request.stats)
            del node.demands[:]
            node.demands.extend(request.demands)
            # Heartbeats are not persisted one by one: only membership changes are.
        return pb.HeartbeatReply(known=True)

    def UnregisterNode(self, request: Any, context: Any) -> Any:
        with self.lock:
            self._mark_dead(request.node_id, request.reason or "unregistered")
            return pb.ListNodesReply(nodes=list(self.nodes.rows.values()))

    def ListNodes(self, request: Any, context: Any) -> Any:
        with self.lock:
            return pb.ListNodesReply(nodes=list(self.nodes.rows.values()))

    def _mark_dead(self, node_id: str, reason: str) -> None:
        node = self.nodes.rows.get(node_id.encode())
        if node is None or node.state == "DEAD":
            return
        node.state = "DEAD"
        node.death_reason = reason
        node.available.clear()
        self.nodes.put(node_id.encode(), node)
        self.publish("NODE", node_id, node)
        for actor in list(self.actors.rows.values()):
            if actor.state == "DEAD":
                continue
            if actor.owner_node == node_id:  # nobody is left to restart it: its name is free
                actor.state = "DEAD"
                actor.death_cause = f"The node that owned the actor died ({reason})."
            elif actor.node_id == node_id and actor.state == "ALIVE":
                # Its owner elsewhere restarts it (and says so), or declares it dead.
                actor.state = "RESTARTING" if actor.owner_node or not actor.detached \
                    else "DEAD"
            else:
                continue
            self._put_actor(actor)

    def _watch_heartbeats(self) -> None:
        while not self._stop.wait(self.period / 2):
            now = time.time()
            with self.lock:
                for node in list(self.nodes.rows.values()):
                    if node.state == "ALIVE" and now - node.last_heartbeat > self.dead_after:
                        self._mark_dead(node.node_id, f"missed heartbeats for "
                                                      f"{now - node.last_heartbeat:.1f} s")

    # -- actors -----------------------------------------------------------------------

    def RegisterActor(self, request: Any, context: Any) -> Any:
        actor = request.actor
        with self.lock:
            if actor.name:
                existing = self._named(actor.name, actor.namespace)
                if existing is not None:
                    if request.get_if_exists:
                        return pb.RegisterActorReply(actor=existing, existed=True)
                    context.abort(grpc.StatusCode.ALREADY_EXISTS,
                                  f"An actor named {actor.name!r} already exists in "
                                  f"namespace {actor.namespace!r}.")
            self._put_actor(actor)
        return pb.RegisterActorReply(actor=actor, existed=False)

    def _named(self, name: str, namespace: str) -> Any:
        for a in self.actors.rows.values():
            if a.name == name and a.namespace == namespace and a.state != "DEAD":
                return a
        return None

    def UpdateActor(self, request: Any, context: Any) -> Any:
        with self.lock:
            self._put_actor(request.actor)
        return pb.UpdateActorReply()

    def _put_actor(self, actor: Any) -> None:
        """Store and publish an actor's row (under the lock), then drop the oldest dead
        rows past the cap."""
        self.actors.put(actor.actor_id, actor)
        self.publish("ACTOR", actor.actor_id.hex(), actor)
        if actor.state == "DEAD":
            self._dead[actor.actor_id] = None
            self._evict_dead()
        else:
            self._dead.pop(actor.actor_id, None)

    def _evict_dead(self) -> None:
        while len(self._dead) > self.dead_kept:
            oldest = next(iter(self._dead))
            del self._dead[oldest]
            self.actors.delete(oldest)
            self._evicted[oldest] = None
            if len(self._evicted) > self._evicted_kept:
                del self._evicted[next(iter(self._evicted))]

    def GetNamedActor(self, request: Any, context: Any) -> Any:
        with self.lock:
            a = self._named(request.name, request.namespace)
        return pb.GetNamedActorReply(actor=a, found=True) if a is not None \
            else pb.GetNamedActorReply(found=False)

    def GetActor(self, request: Any, context: Any) -> Any:
        with self.lock:
            a = self.actors.rows.get(request.actor_id)
            if a is None and request.actor_id in self._evicted:
                a = pb.Actor(actor_id=request.actor_id, state="DEAD",
                             death_cause="The actor died (its record was dropped: "
                                         "RAY_maximum_gcs_destroyed_actor_cached_count).")
        return pb.GetNamedActorReply(actor=a, found=True) if a is not None \
            else pb.GetNamedActorReply(found=False)

    def ListActors(self, request: Any, context: Any) -> Any:
        with self.lock:
            return pb.ListActorsReply(actors=list(self.actors.rows.values()))

    # -- jobs and placement groups ----------------------------------------------------

    def AddJob(self, request: Any, context: Any) -> Any:
        with self.lock:
            job = request.job
            job.start_time = job.start_time or time.time()
            job.status = job.status or "RUNNING"
            self.jobs.put(job.job_id.encode(), job)
            self.publish("JOB", job.job_id, job)
        return pb.AddJobReply()

    def FinishJob(self, request: Any, context: Any) -> Any:
        with self.lock:
            job = self.jobs.rows.get(request.job_id.encode())
            if job is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")
                raise AssertionError("unreachable: abort() raises")
            job.status = request.status or "SUCCEEDED"
            job.end_time = time.time()
            self.jobs.put(job.job_id.encode(), job)
            self.publish("JOB", job.job_id, job)
        return pb.FinishJobReply()

    def ListJobs(self, request: Any, context: Any) -> Any:
        with self.lock:
            return pb.ListJobsReply(jobs=list(self.jobs.rows.values()))

    def PutPlacementGroup(self, request: Any, context: Any) -> Any:
        with self.lock:
            self.pgs.put(request.pg.pg_id.encode(), request.pg)
            self.publish("PG", request.pg.pg_id, request.pg)
        return pb.PutPlacementGroupReply()

    def ListPlacementGroups(self, request: Any, context: Any) -> Any:
        with self.lock:
            return pb.ListPlacementGroupsReply(pgs=list(self.pgs.rows.values()))

    # -- key-value store --------------------------------------------------------------

    @staticmethod
    def _kv_key(ns: str, key: bytes) -> bytes:
        return ns.encode() + b"\x00" + key

    def KVPut(self, request: Any, context: Any) -> Any:
        k = self._kv_key(request.ns, request.key)
        with self.lock:
            exists = self.storage.get("kv", k) is not None
            if exists and not request.overwrite:
                return pb.KVPutReply(added=False)
            self.storage.put("kv", k, request.value)
            self.publish("KV", f"{request.ns}:{request.key.decode(errors='replace')}", None)
        return pb.KVPutReply(added=not exists)

    def KVGet(self, request: Any, context: Any) -> Any:
        value = self.storage.get("kv", self._kv_key(request.ns, request.key))
        return pb.KVGetReply(found=value is not None, value=value or b"")

    def KVDel(self, request: Any, context: Any) -> Any:
        with self.lock:
            if not request.by_prefix:
                n = int(self.storage.delete("kv", self._kv_key(request.ns, request.key)))
            else:
                prefix = self._kv_key(request.ns, request.key)
                n = 0
                for k, _ in self.storage.items("kv"):
                    if k.startswith(prefix):
                        n += int(self.storage.delete("kv", k))
        return pb.KVDelReply(deleted=n)

    def KVKeys(self, request: Any, context: Any) -> Any:
        prefix = self._kv_key(request.ns, request.prefix)
        skip = len(request.ns.encode()) + 1
        keys = [k[skip:] for k, _ in self.storage.items("kv") if k.startswith(prefix)]
        return pb.KVKeysReply(keys=keys)

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            for _, q in self.subscribers:
                q.put(None)


class GcsServer:
    """Runs the ControlStore service on host:port (127.0.0.1 unless told otherwise)."""

    def __init__(self, token: str, storage: str | None = None, host: str = "127.0.0.1",
                 port: int = 0, heartbeat_period_s: float = 1.0,
                 dead_after_s: float = 10.0) -> None:
        self.storage = open_storage(storage)
        self.service = ControlStore(self.storage, heartbeat_period_s, dead_after_s)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                                  options=auth.message_options(),
                                  interceptors=[auth.TokenInterceptor(token)])
        pb_grpc.add_ControlStoreServicer_to_server(self.service, self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot bind the control store to {host}:{port}")
        self.address = f"{host}:{self.port}"

    def start(self) -> GcsServer:
        self.server.start()
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        self.service.stop()
        self.server.stop(grace).wait()
        self.storage.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m ember._cluster.gcs_server`: run the control store until killed."""
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--storage", default="")
    p.add_argument("--token-file", required=True)
    p.add_argument("--heartbeat-period", type=float, default=1.0)
    p.add_argument("--dead-after", type=float, default=10.0)
    args = p.parse_args(argv)
    with open(args.token_file) as f:
        token = f.read().strip()
    server = GcsServer(token, args.storage, args.host, args.port, args.heartbeat_period,
                       args.dead_after).start()
    print(server.address, flush=True)
    server.server.wait_for_termination()


if __name__ == "__main__":
    main()
