"""A node's gRPC side in a cluster: its NodeService server, the object transfer service,
clients for its peers, and ordered batching outboxes (lanes) to each of them."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ember._core.node_manager import NodeManager


class ClusterLink:
    """This node's gRPC side: its NodeService server and clients for its peers."""

    def __init__(self, manager: NodeManager, token: str, host: str) -> None:
        import grpc

        from ember._cluster import auth
        from ember._cluster.node_service import serve
        from ember._cluster.transfer import TransferClient, TransferServer

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

    def forward(self, peer: Any, req: Any, on_fail: Any) -> None:
        """Send a task/actor forward to a peer, in order, batched with others."""
        self._lane(peer.address).put(("forward", req, on_fail))

    def push(self, address: str, req: Any) -> None:
        """Send values to a node, in order with what else goes to it."""
        self._lane(address).put(("forward", req, lambda _why: None))

    def stub_for(self, address: str) -> Any:
        from ember._cluster.protos import node_pb2_grpc as pb_grpc

        with self._lock:
            stub = self._stubs.get(address)
            if stub is None:
                channel = self._grpc.insecure_channel(address, options=self._channel_options)
                stub = self._stubs[address] = pb_grpc.NodeServiceStub(channel)
            return stub

    def send_result(self, owner_address: str, task_id: bytes, node_id: str, results: Any,
                    retryable: bool, deps: list, item: int = 0) -> None:
        """A task's results (or, with `item`, one item of a streaming generator) for its
        owner, in order with everything else sent to it."""
        from ember._cluster.protos import node_pb2 as pb

        req = pb.TaskResultRequest(task_id=task_id, node_id=node_id,
                                   results=pickle.dumps(results, protocol=5),
                                   retryable=retryable, deps=deps, item=item)
        self._lane(owner_address).put(("result", req, None))

    def stop(self) -> None:
        self.server.stop(0.5)
        self.transfer_server.stop()
        self.transfer.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.gcs_out.shutdown(wait=False, cancel_futures=True)
        for lane in self._lanes.values():
            lane.stop()


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
                    outcomes = [(r.accepted, r.error) for r in reply.replies]
                except Exception as e:  # noqa: BLE001 - the peer is unreachable
                    outcomes = [(False, str(e))] * len(forwards)
                for (_, _, on_fail), (ok, why) in zip(forwards, outcomes, strict=True):
                    if not ok:
                        on_fail(why)
            if results:
                try:
                    self.stub.TaskResults(pb.TaskResultBatch(results=results),
                                          metadata=self.md, timeout=60)
                except Exception:  # noqa: BLE001 - the owner is gone; nothing to tell
                    pass
