"""A node's gRPC side in a cluster: its NodeService server, the object transfer service,
clients for its peers, and ordered batching outboxes (lanes) to each of them."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ember._core.node.cluster_port import Dep, Forwarded, ForwardFailure

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

_CHUNK = 4 << 20  # bytes per chunk of an object pulled over gRPC


class ClusterLink:
    """This node's gRPC side: its NodeService server and clients for its peers; the
    node's ClusterPort (ember._core.node.cluster_port)."""

    def __init__(self, manager: NodeManager, token: str, host: str) -> None:
        import grpc

        from ember._cluster import auth
        from ember._cluster.node_service import serve
        from ember._cluster.transfer import TransferClient, TransferServer

        self.node_id = manager.node_id
        self.md = auth.metadata(token)
        self.pool = ThreadPoolExecutor(8, thread_name_prefix="ember-peer")
        # Updates to the control store go out one at a time, so they arrive in order.
        self.gcs_out = ThreadPoolExecutor(1, thread_name_prefix="ember-gcs-out")
        self._grpc = grpc
        self._channel_options = auth.message_options()
        self._stubs: dict[str, Any] = {}
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self.server, self.address = serve(manager, token, host)
        self.transfer_server = TransferServer(manager, token, host)
        self.transfer = TransferClient(token)

    def _lane(self, address: str) -> _Lane:
        stub = self.stub_for(address)
        with self._lock:
            lane = self._lanes.get(address)
            if lane is None:
                lane = self._lanes[address] = _Lane(stub, self.md)
            return lane

    def stub_for(self, address: str) -> Any:
        from ember._cluster.protos import node_pb2_grpc as pb_grpc

        with self._lock:
            stub = self._stubs.get(address)
            if stub is None:
                channel = self._grpc.insecure_channel(address, options=self._channel_options)
                stub = self._stubs[address] = pb_grpc.NodeServiceStub(channel)
            return stub

    # -- the node's ClusterPort ------------------------------------------------------------

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        self.pool.submit(fn, *args)

    def run_ordered(self, fn: Callable[..., Any], *args: Any) -> None:
        self.gcs_out.submit(fn, *args)

    def forward(self, address: str, item: Forwarded, deps: Sequence[Dep],
                on_fail: Callable[[ForwardFailure], None]) -> None:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.ForwardTaskRequest(spec=pickle.dumps(item, protocol=5),
                                    owner_node=self.node_id, owner_address=self.address,
                                    deps=[dep_to_pb(d) for d in deps])
        self._lane(address).put(("forward", req, on_fail))

    def send_result(self, owner_address: str, task_id: bytes, results: Any, retryable: bool,
                    deps: Sequence[Dep], item: int = 0) -> None:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.TaskResultRequest(task_id=task_id, node_id=self.node_id,
                                   results=pickle.dumps(results, protocol=5),
                                   retryable=retryable, deps=[dep_to_pb(d) for d in deps],
                                   item=item)
        self._lane(owner_address).put(("result", req, None))

    def kill_actor(self, address: str, actor_id: bytes, no_restart: bool) -> None:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.KillActorRequest(actor_id=actor_id, no_restart=no_restart)
        stub = self.stub_for(address)
        self.pool.submit(lambda: stub.KillActor(req, metadata=self.md, timeout=30))

    def free_objects(self, address: str, object_ids: list[bytes]) -> None:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.FreeRequest(object_ids=object_ids)
        stub = self.stub_for(address)
        self.pool.submit(lambda: stub.FreeObjects(req, metadata=self.md, timeout=30))

    def reserve_bundles(self, address: str, pg_id: str, bundles: list[dict], here: list[bool],
                        strategy: str, name: str, attempt: int) -> str:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.ReserveBundlesRequest(pg_id=pg_id, bundles=pickle.dumps(bundles, protocol=5),
                                       here=here, owner_node=self.node_id, strategy=strategy,
                                       name=name, attempt=attempt)
        try:
            r = self.stub_for(address).ReserveBundles(req, metadata=self.md, timeout=30)
            return "" if r.reserved else r.error or "refused"
        except Exception as e:  # noqa: BLE001 - an unreachable peer refuses
            return f"unreachable: {e}"

    def return_bundles(self, address: str, pg_id: str, attempt: int) -> None:
        from ember._cluster.protos import node_pb2 as pb

        req = pb.ReturnBundlesRequest(pg_id=pg_id, attempt=attempt)
        stub = self.stub_for(address)
        self.pool.submit(lambda: stub.ReturnBundles(req, metadata=self.md, timeout=30))

    def pull(self, address: str, transfer_address: str, object_id: bytes, region: Any,
             offset: int, size: int) -> None:
        from ember._cluster.protos import node_pb2 as pb

        if transfer_address:
            self.transfer.pull_into(transfer_address, object_id, region, offset, size)
            return
        # A peer without the transfer service: chunks over gRPC.
        stream = self.stub_for(address).PullObject(
            pb.PullRequest(object_id=object_id, chunk_size=_CHUNK), metadata=self.md,
            timeout=600)
        for chunk in stream:
            region.write(offset + chunk.offset, chunk.data)

    def stop(self) -> None:
        self.server.stop(0.5)
        self.transfer_server.stop()
        self.transfer.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.gcs_out.shutdown(wait=False, cancel_futures=True)
        for lane in self._lanes.values():
            lane.stop()


def dep_to_pb(d: Dep) -> Any:
    """The wire form of a Dep."""
    from ember._cluster.protos import node_pb2 as pb

    return pb.Dep(object_id=d.object_id, pending=d.pending, holder=d.holder, size=d.size,
                  data=d.data, contained=list(d.contained))


def dep_from_pb(m: Any) -> Dep:
    """A Dep from its wire form (a node_pb2.Dep)."""
    return Dep(object_id=m.object_id, pending=m.pending, holder=m.holder, size=m.size,
               data=m.data, contained=tuple(m.contained))


class _Lane:
    """An ordered outbox to one peer: whatever is queued goes out in one batch RPC."""

    def __init__(self, stub: Any, md: Any) -> None:
        import queue

        self.stub = stub
        self.md = md
        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, daemon=True, name="ember-lane").start()

    def put(self, item: tuple) -> None:
        self.q.put(item)

    def stop(self) -> None:
        self.q.put(None)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:  # noqa: BLE001 - a dead lane would stall the peer silently
            import traceback

            traceback.print_exc()

    def _loop(self) -> None:
        from ember._cluster.protos import node_pb2 as pb

        while True:
            first = self.q.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 256 and not self.q.empty():
                item = self.q.get()
                if item is None:
                    self.q.put(None)
                    break
                batch.append(item)
            forwards = [b for b in batch if b[0] == "forward"]
            results = [b[1] for b in batch if b[0] == "result"]
            if forwards:
                try:
                    reply = self.stub.ForwardBatch(
                        pb.ForwardBatchRequest(tasks=[f[1] for f in forwards]),
                        metadata=self.md, timeout=60)
                    outcomes = [None if r.accepted else ForwardFailure(r.error)
                                for r in reply.replies]
                except Exception as e:  # noqa: BLE001 - the peer is unreachable
                    import grpc

                    unreachable = isinstance(e, grpc.RpcError) and \
                        e.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
                    outcomes = [ForwardFailure(str(e), unreachable)] * len(forwards)
                for (_, _, on_fail), failure in zip(forwards, outcomes, strict=True):
                    if failure is not None:
                        on_fail(failure)
            if results:
                try:
                    self.stub.TaskResults(pb.TaskResultBatch(results=results),
                                          metadata=self.md, timeout=60)
                except Exception:  # noqa: BLE001 - the owner is gone; nothing to tell
                    pass
