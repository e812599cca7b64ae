"""The cluster's actor directory, as a node manager uses it.

A mixin of NodeManager. The node that owns an actor publishes where it lives (and its
name) to the control store whenever that changes. A node whose processes call an actor it
neither owns nor hosts looks it up there and keeps a proxy record: calls go straight to
the node that hosts the actor, and results come straight back, without passing through
the owner. When the hosting node dies, the proxy looks the actor up again (its owner
restarts it elsewhere) or learns that it is dead.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import TYPE_CHECKING, Any

from ember._core.common.specs import ActorSpec
from ember._core.node.cluster_port import ActorRow
from ember._core.node.records import ALIVE, DEAD, Actor, taken_name_message

if TYPE_CHECKING:
    from ember._core.node.actor_manager import ActorManager
    from ember._core.node.node_manager import NodeManager
    from ember._core.node.remote_nodes import RemoteNodes

# Looking up an actor that is not placed yet is retried this often (seconds).
_LOOKUP_RETRY = 0.1
# After a call could not be sent, the actor is looked up again after this long (seconds).
_FAILED_CALL_RETRY = 0.3


class ActorDirectory:
    def __init__(self, node: NodeManager) -> None:
        self.node = node

    def connect(self, *, actor_manager: ActorManager, remote: RemoteNodes) -> None:
        """Wire the sibling components this one calls."""
        self.actor_manager = actor_manager
        self.remote = remote

    # -- publishing the actors this node owns ---------------------------------------------

    def actor_moved(self, actor: Actor) -> None:
        """Tell the control store where an actor we own lives now (or that it died)."""
        if self.node.gcs is None or actor.owner is not None or actor.proxy:
            return
        node = actor.remote_node or (actor.node_id if actor.state == ALIVE else "")
        data = pickle.dumps({"meta": actor.spec.meta, "owner": self.node.node_id,
                             "max_task_retries": actor.spec.max_task_retries or 0,
                             "pid": actor.pid, "resources": dict(actor.resources)},
                            protocol=5)
        row = ActorRow(actor_id=actor.actor_id, name=actor.name or "",
                       namespace=actor.namespace, class_name=actor.class_name,
                       state=actor.state, node_id=node, detached=actor.detached, data=data,
                       num_restarts=actor.num_restarts, death_cause=actor.death_cause or "",
                       owner_node=self.node.node_id)
        self.node.cluster.run_ordered(self._publish_actor, row)

    def _publish_actor(self, row: ActorRow) -> None:
        try:
            self.node.control_store.update_actor(row)
        except Exception:  # noqa: BLE001 - the control store is restarting; callers retry
            pass

    # -- calling actors that live elsewhere -------------------------------------------------

    def actor_proxy(self, actor_id: bytes) -> Actor | None:
        """A record standing for an actor owned by another node, found by asking the
        control store; None outside a cluster."""
        if self.node.gcs is None:
            return None
        proxy = Actor(ActorSpec(actor_id=actor_id), -1)
        proxy.proxy = True
        proxy.state = "RESOLVING"
        self.actor_manager.actors[actor_id] = proxy
        self._resolve_proxy(proxy)
        return proxy

    def _resolve_proxy(self, proxy: Actor) -> None:
        def lookup() -> None:
            try:
                row = self.node.control_store.get_actor(proxy.actor_id)
            except Exception:  # noqa: BLE001 - retried below
                row = None
            with self.node.lock:
                self._proxy_resolved(proxy, row)

        self.node.cluster.run(lookup)

    def _proxy_resolved(self, proxy: Actor, row: Any) -> None:
        if proxy.state == DEAD:
            return
        if row is not None and row.state == DEAD:
            self.actor_manager.actor_dead(proxy, row.death_cause or "The actor died.")
            return
        node = row.node_id if row is not None and row.state == ALIVE else ""
        if row is not None and not proxy.owner_node:
            self._proxy_learns(proxy, pickle.loads(row.data))
        if node and (node in self.remote.peers or node == self.node.node_id):
            if node == self.node.node_id and proxy.actor_id not in self._hosted():
                node = ""  # its owner is still sending it here: look again shortly
            else:
                proxy.remote_node = node
                proxy.node_id = node
                proxy.state = ALIVE
                self.remote.pump_remote_actor(proxy)
                return
        if proxy.submitted or proxy.inflight:
            self.node.add_timer(_LOOKUP_RETRY, lambda: self._resolve_proxy(proxy))
        else:  # nobody calls it now: forget it, the next call looks it up again
            self.actor_manager.actors.pop(proxy.actor_id, None)

    def _proxy_learns(self, proxy: Actor, data: dict) -> None:
        """What calls through a proxy inherit from the actor: its owner, and the actor's
        max_task_retries for calls that did not set their own."""
        proxy.owner_node = data.get("owner", "")
        retries = int(data.get("max_task_retries") or 0)
        proxy.spec.max_task_retries = retries
        for task in list(proxy.submitted) + list(proxy.inflight.values()):
            if task.spec.max_task_retries is None:
                task.retries_left = retries

    def _hosted(self) -> set[bytes]:
        return {a.actor_id for a in self.actor_manager.actors.values() if not a.proxy}

    def proxy_call_failed(self, task: Any, why: str) -> None:
        """A call could not be sent to the actor's node: most likely it died, and the
        control store has not said so yet. Look the actor up again a little later."""
        proxy = task.actor
        if task.task_id in proxy.inflight and proxy.state == ALIVE:
            self.proxy_lost(proxy, f"node {proxy.remote_node} could not be reached",
                             delay=_FAILED_CALL_RETRY)

    def proxy_lost(self, proxy: Actor, reason: str, delay: float = 0.0) -> None:
        """The node hosting a called actor died: retry the calls that may be retried once
        its owner has placed it again, fail the others."""
        proxy.remote_node = ""
        proxy.node_id = ""
        proxy.state = "RESOLVING"
        self.actor_manager.requeue_inflight(proxy, f"The actor's node died ({reason}) while running this "
                               "call, and max_task_retries does not allow retrying it.")
        if delay:
            self.node.add_timer(delay, lambda: self._resolve_proxy(proxy))
        else:
            self._resolve_proxy(proxy)


    def claim_name_then_create(self, caller: int, reply: Any, spec: ActorSpec) -> None:
        """Register a named actor's name with the control store, which refuses a name
        taken anywhere in the cluster, then create the actor here (replies later)."""
        data = pickle.dumps({"meta": spec.meta, "owner": self.node.node_id,
                             "max_task_retries": spec.max_task_retries or 0},
                            protocol=5)
        row = ActorRow(actor_id=spec.actor_id, name=spec.name or "",
                       namespace=spec.namespace or "", class_name=spec.class_name,
                       state="PENDING_CREATION", detached=spec.lifetime == "detached",
                       data=data, owner_node=self.node.node_id)

        def claim() -> None:
            try:
                existing, existed = self.node.control_store.register_actor(
                    row, get_if_exists=bool(spec.get_if_exists))
            except Exception as e:  # noqa: BLE001 - ALREADY_EXISTS, or no control store
                details_of = getattr(e, "details", None)  # a grpc error's own message
                details = str(details_of() if callable(details_of) else e)
                reply(False, ValueError(taken_name_message(spec.name, spec.namespace)
                                        if "already exists" in details else
                                        f"Cannot create actor {spec.name!r}: {details}"))
                return
            with self.node.lock:
                if existed:
                    reply(True, self._actor_info_from_row(caller, existing))
                    return
                spec.name_claimed = True
                try:
                    reply(True, self.actor_manager.op_create_actor(caller, reply, spec))
                except BaseException as e:  # noqa: BLE001 - returned to the caller
                    self.node.cluster.run_ordered(self._publish_actor,
                                                  dataclasses.replace(row, state="DEAD"))
                    reply(False, e)

        self.node.cluster.run(claim)

    def named_elsewhere(self, reply: Any, caller: int, name: str, namespace: str) -> None:
        """Look up a named actor that another node owns; replies later."""
        def lookup() -> None:
            try:
                row = self.node.control_store.get_named_actor(name, namespace)
            except Exception as e:  # noqa: BLE001 - reported to the caller
                reply(False, ValueError(f"Failed to look up actor {name!r}: {e}"))
                return
            if row is None:
                reply(False, ValueError(f"Failed to look up actor with name {name!r} in "
                                        f"namespace {namespace!r}."))
                return
            with self.node.lock:
                info = self._actor_info_from_row(caller, row)
            reply(True, info)

        self.node.cluster.run(lookup)

    def _actor_info_from_row(self, caller: int, row: Any) -> dict:
        from ember._core.common.ids import handle_id

        self.node.hold(caller, handle_id(row.actor_id))
        return {"actor_id": row.actor_id, "meta": pickle.loads(row.data).get("meta")}
