"""Other nodes of the cluster: their resources, tasks spilled to them, results back.

A mixin of NodeManager. In a cluster, the node manager mirrors every other node's
resources (from the control store) into its C++ scheduler. A task it cannot place here
(or that asks for SPREAD or another node) is forwarded to a node that can take it, with
its argument values; the node that ran it sends the results back. Small results come
inline; a large one stays in the remote store until this node, still its owner, has
pulled it in chunks, and is then freed there.
"""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ember._core import ids, serialization
from ember._core.records import QUEUED, RUNNING, STREAMING, Task
from ember.exceptions import NodeDiedError, ObjectLostError

# Holder id under which a node keeps objects that another node owns.
REMOTE_OWNER = -1
_CHUNK = 4 << 20


class Peer:
    __slots__ = ("node_id", "address", "totals", "available", "stub")

    def __init__(self, node_id: str, address: str, totals: dict[str, float], stub: Any) -> None:
        self.node_id = node_id
        self.address = address
        self.totals = totals
        self.available = dict(totals)
        self.stub = stub


class RemoteMixin:
    def _init_remote(self) -> None:
        self.peers: dict[str, Peer] = {}
        self.forwarded: dict[bytes, Task] = {}  # tasks we own that run on a peer
        self.link: Any = None  # the cluster link, once this node is part of a cluster

    # -- membership -------------------------------------------------------------------

    def sync_peers(self, nodes: list[Any]) -> None:
        """Mirror the control store's node list into the scheduler (called periodically)."""
        changed = False
        with self.lock:
            for n in nodes:
                if n.node_id == self.node_id:
                    continue
                peer = self.peers.get(n.node_id)
                if n.state != "ALIVE":
                    if peer is not None:
                        self._peer_dead(peer, n.death_reason or "the node died")
                        changed = True
                    continue
                if peer is None:
                    peer = Peer(n.node_id, n.address, dict(n.resources),
                                self.link.stub_for(n.address))
                    self.peers[n.node_id] = peer
                    self.scheduler.add_node(n.node_id, peer.totals)
                    changed = True
                peer.available = dict(n.available)
                self._mirror(peer)
            if changed or self.queues:
                self.on_resources_freed()

    def _mirror(self, peer: Peer) -> None:
        """Set the scheduler's view of a peer: its reported use plus what we sent since."""
        in_flight: dict[str, float] = {}
        for t in self.forwarded.values():
            if t.remote_node == peer.node_id:
                for k, v in t.resources.items():
                    in_flight[k] = in_flight.get(k, 0.0) + v
        self.scheduler.remove_node(peer.node_id)
        self.scheduler.add_node(peer.node_id, peer.totals)
        used = {k: max(0.0, v - peer.available.get(k, 0.0)) for k, v in peer.totals.items()}
        for k, v in in_flight.items():
            used[k] = min(peer.totals.get(k, 0.0), used.get(k, 0.0) + v)
        used = {k: v for k, v in used.items() if v > 0}
        if used:
            self.scheduler.acquire(peer.node_id, used)

    def _peer_dead(self, peer: Peer, reason: str) -> None:
        self.peers.pop(peer.node_id, None)
        self.scheduler.remove_node(peer.node_id)
        for task in [t for t in self.forwarded.values() if t.remote_node == peer.node_id]:
            self.forwarded.pop(task.task_id, None)
            task.remote_node = ""
            if task.retries_left != 0:
                task.retries_left -= 1
                task.state = QUEUED
                self._enqueue(task, front=True)
            else:
                err = NodeDiedError(f"The node {peer.node_id} running task {task.name!r} died "
                                    f"({reason}) and max_retries is used up.")
                self._fail_task(task, serialization.serialize_error(err).to_bytes())

    # -- spilling tasks to peers --------------------------------------------------------

    def _spill_target(self, task: Task, local_fits: bool) -> str:
        """A peer to forward `task` to, or "" to keep it here."""
        if self.link is None or not self.peers or task.owner is not None:
            return ""
        spec = task.spec
        if spec.get("pg") is not None or task.gen is not None or task.actor is not None:
            return ""
        aff = spec.get("affinity")
        strategy = spec.get("strategy") or "DEFAULT"
        if local_fits and strategy != "SPREAD" and not (aff and aff[0] != self.node_id):
            return ""
        if spec.get("contained"):
            return ""  # refs nested in arguments are only readable on their owner's node
        node = self.scheduler.pick_node(
            task.resources, "SPREAD" if strategy == "SPREAD" else "DEFAULT",
            local_node=self.node_id, affinity_node=aff[0] if aff else "",
            soft=bool(aff[1]) if aff else False)
        return node if node and node != self.node_id and node in self.peers else ""

    def _forward(self, task: Task, node_id: str) -> bool:
        if not self.scheduler.acquire(node_id, task.resources):
            return False
        from ember._cluster.protos import node_pb2 as pb

        peer = self.peers[node_id]
        task.state = RUNNING
        task.remote_node = node_id
        self.forwarded[task.task_id] = task
        spec = dict(task.spec)
        spec["fn_bytes"] = self.fns[spec["fn_id"]]
        deps = [pb.Dep(object_id=oid, data=self._value_bytes(oid)) for oid in task.deps]
        req = pb.ForwardTaskRequest(spec=pickle.dumps(spec, protocol=5),
                                    owner_node=self.node_id,
                                    owner_address=self.link.address, deps=deps)

        def send() -> None:
            try:
                reply = peer.stub.ForwardTask(req, metadata=self.link.md, timeout=30)
                ok, why = reply.accepted, reply.error
            except Exception as e:  # noqa: BLE001 - the peer is unreachable
                ok, why = False, str(e)
            if not ok:
                with self.lock:
                    self._forward_failed(task, node_id, why)

        self.link.pool.submit(send)
        return True

    def _forward_failed(self, task: Task, node_id: str, why: str) -> None:
        if self.forwarded.pop(task.task_id, None) is None:
            return
        task.remote_node = ""
        task.state = QUEUED
        if node_id in self.peers:
            self._mirror(self.peers[node_id])
        self._enqueue(task, front=True)
        self.dispatch()

    def _value_bytes(self, oid: bytes) -> bytes:
        e = self.objects.entries.get(oid)
        if e is None:
            return serialization.serialize_error(ObjectLostError(oid.hex())).to_bytes()
        if e.inline is not None:
            return e.inline
        offset, size = self.store.get(oid)
        try:
            return bytes(self.region.view(offset, size))
        finally:
            self.store.release(oid)

    # -- running tasks for other owners ------------------------------------------------

    def accept_forwarded(self, spec: dict, owner: tuple[str, str],
                         deps: list[tuple[bytes, bytes]]) -> None:
        with self.lock:
            self.fns[spec["fn_id"]] = spec.pop("fn_bytes")
            spec.pop("contained", None)
            for oid, data in deps:
                self.objects.create(oid, REMOTE_OWNER)
                self.objects.set_inline(oid, data, ())
            task = Task(spec, REMOTE_OWNER)
            task.owner = owner
            self.tasks[task.task_id] = task
            for oid in task.pins:
                self.objects.incref(oid)
            for oid, _ in deps:  # the task's pins keep them now
                self.objects.remove_holder(oid, REMOTE_OWNER)
            self._wait_deps(task, self._task_deps_ready)

    def _return_to_owner(self, task: Task, results: list, retryable: bool) -> None:
        """Send a remote owner its results; large ones stay here until it frees them."""
        out = []
        for i, res in enumerate(results):
            if res[0] == "i":
                out.append(res)
            else:
                oid = ids.return_id(task.task_id, i)
                self.objects.create(oid, REMOTE_OWNER)
                self.store.seal(oid)
                self.objects.set_in_store(oid, res[1], res[2])
                out.append(("r", res[1], res[2]))
        self.link.send_result(task.owner[1], task.task_id, self.node_id, out, retryable)

    def on_remote_result(self, task_id: bytes, node_id: str, results: list,
                         retryable: bool) -> None:
        with self.lock:
            task = self.forwarded.pop(task_id, None)
            if task is None:
                return
            task.remote_node = ""
            if node_id in self.peers:
                self._mirror(self.peers[node_id])
            if retryable and task.retries_left != 0 and not task.cancelled:
                task.retries_left -= 1
                task.state = QUEUED
                self._enqueue(task, front=True)
                self.dispatch()
                return
            pulls = []
            for i, res in enumerate(results):
                oid = ids.return_id(task_id, i)
                if res[0] == "i":
                    self.objects.set_inline(oid, res[1], res[2])
                else:
                    pulls.append((oid, res[1], res[2]))
            self._close_task(task, "FINISHED")
        for oid, size, contained in pulls:
            self.link.pool.submit(self._pull, node_id, oid, size, contained)

    def _pull(self, node_id: str, oid: bytes, size: int, contained: list[bytes]) -> None:
        """Copy an object from a peer into the local store, chunk by chunk."""
        from ember._cluster.protos import node_pb2 as pb

        peer = self.peers.get(node_id)
        try:
            with self.lock:
                offset = self.objects.allocate(oid, size)
            stream = peer.stub.PullObject(pb.PullRequest(object_id=oid, chunk_size=_CHUNK),
                                          metadata=self.link.md, timeout=600)
            for chunk in stream:
                self.region.write(offset + chunk.offset, chunk.data)
            with self.lock:
                self.store.seal(oid)
                self.objects.set_in_store(oid, size, contained)
            peer.stub.FreeObjects(pb.FreeRequest(object_ids=[oid]), metadata=self.link.md,
                                  timeout=30)
        except Exception as e:  # noqa: BLE001 - the copy is lost with its node
            with self.lock:
                try:
                    self.store.abort(oid)
                except Exception:  # noqa: BLE001
                    pass
                err = ObjectLostError(oid.hex(), f"Object {oid.hex()} could not be fetched "
                                      f"from node {node_id}: {e}")
                self.objects.set_inline(oid, serialization.serialize_error(err).to_bytes(), ())

    def serve_pull(self, oid: bytes, chunk_size: int) -> Any:
        """Yield (offset, bytes) chunks of a local object for a peer."""
        with self.lock:
            e = self.objects.entries.get(oid)
            if e is None:
                raise KeyError(f"object {oid.hex()} is not on this node")
            if e.inline is not None:
                data: Any = e.inline
                pinned = False
            else:
                offset, size = self.store.get(oid)
                data = self.region.view(offset, size)
                pinned = True
        try:
            total = len(data)
            for pos in range(0, max(total, 1), chunk_size):
                yield pos, bytes(data[pos:pos + chunk_size]), total
        finally:
            if pinned:
                del data
                self.store.release(oid)

    def free_for_owner(self, oids: list[bytes]) -> None:
        with self.lock:
            for oid in oids:
                self.objects.remove_holder(oid, REMOTE_OWNER)


class ClusterLink:
    """This node's gRPC side: its NodeService server and clients for its peers."""

    def __init__(self, manager: Any, token: str, host: str) -> None:
        import grpc

        from ember._cluster import auth
        from ember._cluster.node_service import serve

        self.md = auth.metadata(token)
        self.pool = ThreadPoolExecutor(8, thread_name_prefix="ember-peer")
        self._grpc = grpc
        self._stubs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.server, self.address = serve(manager, token, host)

    def stub_for(self, address: str) -> Any:
        from ember._cluster.protos import node_pb2_grpc as pb_grpc

        with self._lock:
            stub = self._stubs.get(address)
            if stub is None:
                options = [("grpc.max_send_message_length", -1),
                           ("grpc.max_receive_message_length", -1)]
                channel = self._grpc.insecure_channel(address, options=options)
                stub = self._stubs[address] = pb_grpc.NodeServiceStub(channel)
            return stub

    def send_result(self, owner_address: str, task_id: bytes, node_id: str, results: list,
                    retryable: bool) -> None:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.TaskResultRequest(task_id=task_id, node_id=node_id,
                                   results=pickle.dumps(results, protocol=5),
                                   retryable=retryable)
        stub = self.stub_for(owner_address)
        self.pool.submit(lambda: stub.TaskResult(req, metadata=self.md, timeout=60))

    def stop(self) -> None:
        self.server.stop(0.5)
        self.pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["REMOTE_OWNER", "STREAMING", "ClusterLink", "RemoteMixin"]
