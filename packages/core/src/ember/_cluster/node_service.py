"""The NodeService gRPC server: what a node manager offers its peers."""

from __future__ import annotations

import pickle
from concurrent import futures
from typing import TYPE_CHECKING, Any

import grpc

from ember._cluster import auth
from ember._cluster.link import dep_from_pb
from ember._cluster.protos import node_pb2 as pb
from ember._cluster.protos import node_pb2_grpc as pb_grpc
from ember._core.node.cluster_port import Forwarded

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager


class NodeServicer(pb_grpc.NodeServiceServicer):
    def __init__(self, manager: NodeManager) -> None:
        self.m = manager

    def ForwardBatch(self, request: Any, context: Any) -> Any:
        return pb.ForwardBatchReply(replies=[self.ForwardTask(t, context)
                                             for t in request.tasks])

    def TaskResults(self, request: Any, context: Any) -> Any:
        for r in request.results:
            self.TaskResult(r, context)
        return pb.TaskResultReply()

    def ForwardTask(self, request: Any, context: Any) -> Any:
        try:
            item = pickle.loads(request.spec)
            if not isinstance(item, Forwarded):
                raise TypeError(f"not forwarded work: {type(item).__name__}")
            self.m.remote.accept_forwarded(item, (request.owner_node, request.owner_address),
                                           [dep_from_pb(d) for d in request.deps])
        except Exception as e:  # noqa: BLE001 - the owner requeues the task elsewhere
            return pb.ForwardTaskReply(accepted=False, error=f"{type(e).__name__}: {e}")
        return pb.ForwardTaskReply(accepted=True)

    def TaskResult(self, request: Any, context: Any) -> Any:
        if request.item:
            self.m.remote.on_remote_item(request.task_id, request.node_id, request.item,
                                         pickle.loads(request.results),
                                         [dep_from_pb(d) for d in request.deps])
        else:
            self.m.remote.on_remote_result(request.task_id, request.node_id,
                                           pickle.loads(request.results), request.retryable,
                                           [dep_from_pb(d) for d in request.deps])
        return pb.TaskResultReply()

    def PullObject(self, request: Any, context: Any) -> Any:
        size = request.chunk_size or (4 << 20)
        try:
            for offset, data, total in self.m.remote.serve_pull(request.object_id, size):
                yield pb.Chunk(data=data, offset=offset, total=total)
        except KeyError as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))

    def FreeObjects(self, request: Any, context: Any) -> Any:
        self.m.remote.free_for_owner(list(request.object_ids))
        return pb.FreeReply()

    def KillActor(self, request: Any, context: Any) -> Any:
        self.m.remote.kill_for_owner(request.actor_id, request.no_restart)
        return pb.KillActorReply()

    def ReserveBundles(self, request: Any, context: Any) -> Any:
        try:
            self.m.placement.reserve_bundles(request.pg_id, pickle.loads(request.bundles),
                                   list(request.here), request.owner_node,
                                   request.strategy, request.name, request.attempt)
        except Exception as e:  # noqa: BLE001 - the owner rolls the group back
            return pb.ReserveBundlesReply(reserved=False, error=f"{type(e).__name__}: {e}")
        return pb.ReserveBundlesReply(reserved=True)

    def ReturnBundles(self, request: Any, context: Any) -> Any:
        self.m.placement.return_bundles(request.pg_id, request.attempt)
        return pb.ReturnBundlesReply()


def serve(manager: NodeManager, token: str, host: str) -> tuple[grpc.Server, str]:
    """Start the NodeService on host (an ephemeral port); returns (server, "host:port")."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                         options=auth.message_options(),
                         interceptors=[auth.TokenInterceptor(token)])
    pb_grpc.add_NodeServiceServicer_to_server(NodeServicer(manager), server)
    port = server.add_insecure_port(f"{host}:0")
    server.start()
    return server, f"{host}:{port}"
